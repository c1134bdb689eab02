import {
  type CommandResult,
  type ConnectorArguments,
  type ConnectorHost,
  MaskString,
  type OutputLine,
  type SudoPasswordSource,
} from '@infra/core';

/** What sudo prints when `-n` meets a rule that wants a password. */
const PASSWORD_REQUIRED = /sudo: (a password is required|a terminal is required)/;

/** True when the command failed because sudo wanted a password. */
export function sudoNeedsPassword(result: CommandResult): boolean {
  return !result.success && result.output.stderrLines.some((line) => PASSWORD_REQUIRED.test(line));
}

/** The host data key that holds a host's sudo password, as in pyinfra. */
export const SUDO_PASSWORD_DATA_KEY = 'sudo_password';

/**
 * Where a host's sudo password comes from: `sudo_password` in its host data when
 * set (a string or a `MaskString`), else the run's source (asked once, shared by
 * every host).
 */
export function sudoPasswordSourceFor(
  host: Pick<ConnectorHost<unknown>, 'hostData' | 'sudoPassword'>,
): SudoPasswordSource {
  const fromData = host.hostData[SUDO_PASSWORD_DATA_KEY];
  if (MaskString.is(fromData)) return { get: () => Promise.resolve(fromData) };
  if (typeof fromData === 'string' && fromData !== '') {
    const masked = new MaskString(fromData);
    return { get: () => Promise.resolve(masked) };
  }
  return host.sudoPassword;
}

/**
 * pyinfra's `execute_command_with_sudo_retry`: run with `sudo -n`; when sudo says
 * it needs a password, get it from `source` (`sudoPasswordSourceFor(host)`) and run
 * once more with it. sudo's "a password is required" line is held back from
 * `onOutput` and dropped when the retry follows. When stdin is a stream (which a
 * first try would consume), ask sudo with `true` first.
 */
export async function runWithSudoRetry<
  C,
  A extends ConnectorArguments & { onOutput?: ((line: OutputLine) => void) | undefined },
>(
  command: C,
  args: A,
  source: SudoPasswordSource,
  run: (command: C | string, args: A) => Promise<CommandResult>,
): Promise<CommandResult> {
  if (!args.sudo || (args.sudoPassword !== undefined && args.sudoPassword !== '')) {
    return run(command, args);
  }
  const held: OutputLine[] = [];
  const onOutput = (line: OutputLine) => {
    if (line.stream === 'stderr' && PASSWORD_REQUIRED.test(line.line)) held.push(line);
    else args.onOutput?.(line);
  };
  const streamed = typeof args.stdin === 'object' && !Buffer.isBuffer(args.stdin);
  const firstArgs = streamed
    ? ({ sudo: true, sudoUser: args.sudoUser, timeout: args.timeout } as A)
    : { ...args, onOutput };
  const first = await run(streamed ? 'true' : command, firstArgs);
  if (!sudoNeedsPassword(first)) {
    if (streamed) return run(command, args);
    for (const line of held) args.onOutput?.(line);
    return first;
  }
  return run(command, { ...args, sudoPassword: await source.get() });
}

/** The `sudo_password` entry for a connector's `dataMeta` (secret: masked everywhere). */
export const SUDO_PASSWORD_DATA_META = {
  sudo_password: {
    description: 'sudo password for this host, used when sudo says it needs one',
    type: 'string',
    secret: true,
  },
} as const;
