export {
  type CommandInput,
  type CommandPart,
  MASK,
  MaskString,
  QuoteString,
  quote,
  quoteBytes,
  type ShValue,
  StringCommand,
  sh,
  toStringCommand,
} from './command.js';
export {
  type ConnectionString,
  parseConnectionString,
} from './connection-string.js';
export {
  assertConnectorClass,
  BaseConnector,
  type Connector,
  type ConnectorClass,
  type ConnectorHost,
  type ConnectorLogger,
  collectNamesData,
  type FileDestination,
  type FileOptions,
  type FileSource,
  InventoryConnector,
  type NamesData,
  type NamesDataContext,
  type NamesDataResult,
  type RunShellCommandOptions,
  SPECIFICATION_VERSION,
  type SpecificationVersion,
  VIA_DATA_KEY,
  VIA_DATA_META,
  type ViaTarget,
  viaTargetOf,
} from './connector.js';
export {
  buildConnectorData,
  type ConnectorData,
  type DataMeta,
  type DataMetaMap,
  type DataType,
  maskHostData,
} from './connector-data.js';
export {
  CommandTimeoutError,
  ConnectError,
  ConnectorDataError,
  ConnectorNotFoundError,
  ConnectorSpecError,
  ConnectorStateError,
  FileTransferError,
  InfraError,
  InventoryError,
  QuoteError,
  SudoPasswordError,
} from './errors.js';
export {
  describeFileKind,
  isRegularFileMode,
  NotRegularFileError,
  refuseNonRegularLocalFile,
  refuseNonRegularShell,
} from './file-kind.js';
export { describeFileEnd, openFileSource } from './file-source.js';
export {
  CommandOutput,
  type CommandResult,
  isSuccess,
  LineSplitter,
  OutputCollector,
  type OutputLine,
  type OutputStream,
} from './output.js';
export type { RawCommand, RawCommandIo, RawExit, RunRaw } from './raw-command.js';
export * from './resolver.js';
export { sudoPasswordOf, withSudoPasswordStdin } from './sudo-askpass.js';
export {
  noSudoPassword,
  type SecretPrompt,
  SUDO_PASSWORD_FROM_ENV,
  SudoPasswordPrompt,
  type SudoPasswordSource,
} from './sudo-password.js';
export {
  CommandArgumentError,
  type CommandStdin,
  type ConnectorArguments,
  makeUnixCommand,
  type UnixCommandArguments,
  type UnixCommandOptions,
} from './unix-command.js';
