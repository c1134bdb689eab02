export {
  type CliCommand,
  type ExecOptions,
  type HelpTopic,
  type OutputOptions,
  parseArgs,
} from './args.js';
export { type DataOverride, parseDataValue } from './data-value.js';
export { EXIT } from './exit-codes.js';
export { main } from './main.js';
export type { CliStreams, TextSink } from './reporter.js';
export { UsageError } from './usage-error.js';
