import {
  type CommandInput,
  type CommandPart,
  MaskString,
  QuoteString,
  StringCommand,
  toStringCommand,
} from './command.js';
import { InfraError } from './errors.js';
import { SUDO_ASKPASS_PROMPT, sudoPasswordOf, wrapSudoWithPassword } from './sudo-askpass.js';

/** What a command's stdin is fed from. */
export type CommandStdin = string | Buffer | NodeJS.ReadableStream;

/**
 * The connector arguments, pyinfra's names in camelCase. Every connector takes
 * these on `runShellCommand`, `putFile` and `getFile`.
 */
export interface ConnectorArguments {
  sudo?: boolean;
  sudoUser?: string;
  useSudoLogin?: boolean;
  /**
   * A sudo password: sent as the first line of the command's stdin and handed to
   * `sudo -A` through a private FIFO, never on a command line or in an environment.
   */
  sudoPassword?: string | MaskString;
  preserveSudoEnv?: boolean;
  suUser?: string;
  useSuLogin?: boolean;
  preserveSuEnv?: boolean;
  suShell?: string;
  doas?: boolean;
  doasUser?: string;
  /** The shell that runs the command: `sh` by default; `null` runs it without a wrapping shell. */
  shellExecutable?: string | null;
  chdir?: string;
  /** Environment for the command; a `MaskString` value stays masked in every output. */
  env?: Readonly<Record<string, string | MaskString>>;
  /** Exit codes that count as success: `[0]` by default. */
  successExitCodes?: readonly number[];
  /** Seconds before the command is killed. */
  timeout?: number;
  getPty?: boolean;
  stdin?: CommandStdin;
  /**
   * Run a failed or timed-out command again up to this many times (pyinfra's `_retries`,
   * default 0); the rule is `withRetries` of `@infra/connector-utils`.
   */
  retries?: number;
  /** Seconds between retries (pyinfra's `_retry_delay`, default 5). */
  retryDelay?: number;
}

/** The arguments that change the command line (the rest are for the connector). */
export type UnixCommandArguments = Pick<
  ConnectorArguments,
  | 'sudo'
  | 'sudoUser'
  | 'useSudoLogin'
  | 'sudoPassword'
  | 'preserveSudoEnv'
  | 'suUser'
  | 'useSuLogin'
  | 'preserveSuEnv'
  | 'suShell'
  | 'doas'
  | 'doasUser'
  | 'shellExecutable'
  | 'chdir'
  | 'env'
>;

/** How the built command is run, beyond the connector arguments. */
export interface UnixCommandOptions {
  /**
   * A file on the target (read as the login user, before any user switch) that
   * becomes the command's stdin: `sudo ... < FILE`.
   */
  stdinPath?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class CommandArgumentError extends InfraError {
  constructor(message: string) {
    super('COMMAND_ARGUMENT_INVALID', message);
  }
}

function envAssignment(key: string, value: string | MaskString): QuoteString {
  if (!ENV_NAME.test(key)) {
    throw new CommandArgumentError(
      `env: ${JSON.stringify(key)} is not a valid environment variable name (expected letters, digits and _, not starting with a digit).`,
    );
  }
  if (MaskString.is(value)) return new QuoteString(new StringCommand([`${key}=`, value], ''));
  if (typeof value !== 'string') {
    throw new CommandArgumentError(
      `env: the value of ${key} is a ${typeof value}, expected a string.`,
    );
  }
  return new QuoteString(`${key}=${value}`);
}

function userArg(name: string, value: string): QuoteString {
  if (typeof value !== 'string' || value === '') {
    throw new CommandArgumentError(`${name}: expected a user name, got ${JSON.stringify(value)}.`);
  }
  return new QuoteString(value);
}

/**
 * Wrap a command in env, chdir, the shell and sudo / su / doas, every
 * user-supplied value quoted. The result is what a connector sends to a POSIX
 * shell (`sh -c` locally, the login shell over ssh, `sh -c` in a container).
 */
export function makeUnixCommand(
  command: CommandInput,
  args: UnixCommandArguments = {},
  options: UnixCommandOptions = {},
): StringCommand {
  let inner = toStringCommand(command);

  if (args.env && Object.keys(args.env).length > 0) {
    const assignments = Object.entries(args.env).map(([key, value]) => envAssignment(key, value));
    inner = StringCommand.of('export', ...assignments, '&&', inner);
  }
  if (args.chdir !== undefined) {
    if (typeof args.chdir !== 'string' || args.chdir === '') {
      throw new CommandArgumentError(
        `chdir: expected a directory path, got ${JSON.stringify(args.chdir)}.`,
      );
    }
    inner = StringCommand.of('cd', new QuoteString(args.chdir), '&&', inner);
  }
  const sudoPassword = sudoPasswordOf(args);
  if (sudoPassword?.getRawValue().includes('\n')) {
    throw new CommandArgumentError(
      'sudoPassword: a password cannot contain a line break (it is sent as one line).',
    );
  }

  const shell = args.shellExecutable === undefined ? 'sh' : args.shellExecutable;
  if (shell !== null && (typeof shell !== 'string' || shell === '')) {
    throw new CommandArgumentError(
      `shellExecutable: expected a shell such as "sh" or "bash", got ${JSON.stringify(shell)}.`,
    );
  }

  const bits: CommandPart[] = [];
  if (args.doas) {
    bits.push('doas', '-n');
    if (args.doasUser !== undefined) bits.push('-u', userArg('doasUser', args.doasUser));
  }
  if (args.sudo) {
    bits.push('sudo', '-H', ...(sudoPassword ? ['-A', '-p', SUDO_ASKPASS_PROMPT] : ['-n']));
    if (args.useSudoLogin) bits.push('-i');
    if (args.preserveSudoEnv) bits.push('-E');
    if (args.sudoUser !== undefined) bits.push('-u', userArg('sudoUser', args.sudoUser));
  }
  if (args.suUser !== undefined) {
    bits.push('su');
    if (args.useSuLogin) bits.push('-l');
    if (args.preserveSuEnv) bits.push('-m');
    if (args.suShell) bits.push('-s', new QuoteString(args.suShell));
    bits.push(userArg('suUser', args.suUser), '-c');
    // BSD su has no shell option: quote the whole `shell -c 'command'` as one argument.
    bits.push(
      new QuoteString(
        shell === null
          ? inner
          : StringCommand.of(new QuoteString(shell), '-c', new QuoteString(inner)),
      ),
    );
  } else if (shell !== null) {
    bits.push(new QuoteString(shell), '-c', new QuoteString(inner));
  } else {
    bits.push(inner);
  }
  const become = new StringCommand(bits);
  if (sudoPassword) return wrapSudoWithPassword(become, options.stdinPath);
  if (options.stdinPath === undefined) return become;
  return StringCommand.of(become, '<', new QuoteString(options.stdinPath));
}
