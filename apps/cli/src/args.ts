import type { CliCommand, HelpTopic } from './cli-command.js';
import { deployOptions, execOptions, keyValueArgs, outputOptions } from './flag-options.js';
import { FLAGS, type RawFlags, readFlagsWithExecHint } from './flags.js';
import { UsageError } from './usage-error.js';

export type {
  CliCommand,
  DeployOptions,
  ExecOptions,
  HelpTopic,
  OutputOptions,
} from './cli-command.js';

const DEPLOY_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;
const OPERATION_NAME = /^[a-z]+\.[a-z_]+$/;

function deployCommand(
  inventory: string,
  words: readonly string[],
  flags: RawFlags,
  after: readonly string[] | undefined,
): CliCommand | undefined {
  const [second, ...rest] = words;
  if (second === undefined) return undefined;
  const known =
    second === 'debug-inventory' ||
    second === 'fact' ||
    DEPLOY_FILE.test(second) ||
    OPERATION_NAME.test(second);
  if (!known) return undefined;
  if (after !== undefined) {
    throw new UsageError(`${second}: nothing goes after --; -- is for exec only.`);
  }
  if (second === 'debug-inventory') {
    if (rest.length > 0) {
      throw new UsageError(
        `debug-inventory takes no arguments, got ${JSON.stringify(rest.join(' '))}.`,
      );
    }
    return { kind: 'debug-inventory', inventory, options: deployOptions(flags) };
  }
  if (second === 'fact') {
    const [fact, ...factArgs] = rest;
    if (fact === undefined) {
      throw new UsageError('fact: name the fact, e.g. infra @local fact server.os.');
    }
    return {
      kind: 'fact',
      inventory,
      fact,
      args: keyValueArgs(`fact ${fact}`, factArgs),
      options: deployOptions(flags),
    };
  }
  if (DEPLOY_FILE.test(second)) {
    const notFiles = rest.filter((word) => !DEPLOY_FILE.test(word));
    if (notFiles.length > 0) {
      throw new UsageError(
        `Deploy files must end in .ts, .mts, .js or .mjs; ${JSON.stringify(notFiles[0])} does not.`,
      );
    }
    return { kind: 'deploy', inventory, files: words, options: deployOptions(flags) };
  }
  if (OPERATION_NAME.test(second)) {
    return {
      kind: 'operation',
      inventory,
      operation: second,
      args: keyValueArgs(second, rest),
      options: deployOptions(flags),
    };
  }
  return undefined;
}

function helpTopic(positionals: readonly string[]): HelpTopic {
  if (positionals.includes('connectors')) return 'connectors';
  if (positionals.includes('exec')) return 'exec';
  if (positionals.includes('deploy')) return 'deploy';
  return 'general';
}

/**
 * Read the CLI's arguments. Flags may stand anywhere before `--`; the words after
 * `--` are the command to run, untouched. Throws `UsageError` naming the flag and
 * what it expects.
 */
export function parseArgs(argv: readonly string[]): CliCommand {
  const separator = argv.indexOf('--');
  const before = separator === -1 ? argv : argv.slice(0, separator);
  const after = separator === -1 ? undefined : argv.slice(separator + 1);

  // --help and --version win over everything else, even other mistakes.
  if (before.includes('--help') || before.includes('-h')) {
    return { kind: 'help', topic: helpTopic(before.filter((w) => !w.startsWith('-'))) };
  }
  if (before.includes('--version')) return { kind: 'version' };

  const { flags, positionals } = readFlagsWithExecHint(before, after);
  const [first, second, ...rest] = positionals;

  if (first === undefined) {
    if (after !== undefined) {
      throw new UsageError(
        'Missing INVENTORY and command: expected infra INVENTORY exec -- CMD [ARGS...].',
      );
    }
    return { kind: 'help', topic: 'general' };
  }
  if (first === 'help') return { kind: 'help', topic: helpTopic(positionals.slice(1)) };

  if (first === 'connectors') {
    if (positionals.length > 1 || after !== undefined) {
      throw new UsageError(
        `"infra connectors" takes no arguments, got ${JSON.stringify([...positionals.slice(1), ...(after ?? [])].join(' '))}.`,
      );
    }
    for (const name of flags.seen.keys()) {
      if (FLAGS[name].execOnly) {
        throw new UsageError(
          `--${name} is an option of exec; "infra connectors" does not take it.`,
        );
      }
    }
    return { kind: 'connectors', options: outputOptions(flags) };
  }

  if (first === 'check') {
    const files = positionals.slice(1);
    if (files.length === 0 || after !== undefined) {
      throw new UsageError(
        'check: name the deploy and inventory files to type-check, e.g. infra check inventory.ts deploy.ts.',
      );
    }
    for (const name of flags.seen.keys()) {
      if (FLAGS[name].execOnly) {
        throw new UsageError(
          `--${name} is an option of exec and deploys; "infra check" does not take it.`,
        );
      }
    }
    return { kind: 'check', files, options: outputOptions(flags) };
  }

  if (first === 'exec') {
    throw new UsageError(
      'Missing INVENTORY before exec: expected infra INVENTORY exec -- CMD, e.g. infra @local exec -- uname -a.',
    );
  }
  if (second === undefined) {
    throw new UsageError(
      `Missing command after the inventory ${JSON.stringify(first)}: expected exec, e.g. infra ${first} exec -- uname -a.`,
    );
  }
  if (second !== 'exec') {
    const command = deployCommand(first, positionals.slice(1), flags, after);
    if (command) return command;
    throw new UsageError(
      `Unknown command ${JSON.stringify(second)}: expected exec (infra INVENTORY exec -- CMD), deploy files (infra INVENTORY deploy.ts), an operation (infra INVENTORY files.put src=a dest=b), fact NAME, debug-inventory, or connectors.`,
    );
  }
  for (const name of flags.seen.keys()) {
    if (FLAGS[name].deployOnly) {
      throw new UsageError(`--${name} is an option of deploys; exec does not take it.`);
    }
  }
  if (rest.length > 0 || after === undefined) {
    throw new UsageError(
      `exec: put the command after --, e.g. infra ${first} exec -- ${rest.length > 0 ? rest.join(' ') : 'uname -a'}.`,
    );
  }
  if (after.length === 0) {
    throw new UsageError(
      `exec: nothing to run after --; expected infra ${first} exec -- CMD [ARGS...].`,
    );
  }
  return { kind: 'exec', inventory: first, command: after, options: execOptions(flags) };
}
