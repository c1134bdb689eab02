import type { Readable, Writable } from 'node:stream';
import {
  becomeArguments,
  type CommandInput,
  type CommandResult,
  type ConnectorArguments,
  type FileOptions,
  isSuccess,
  MaskString,
  makeShellInvocation,
  makeUnixCommand,
  type RunShellCommandOptions,
  runWithSudoRetry,
  type StringCommand,
  type SudoPasswordSource,
  toStringCommand,
  withSudoPasswordStdin,
} from '@infra/core';
import { runExec } from './docker-exec.js';
import type { DockerHost, Session } from './docker-session.js';

/**
 * Where sudo's password comes from when sudo asks for one (`sudo -n` first, as on
 * every connector): `sudo_password` in host data when set, else the run's source.
 */
export function sudoPasswordSource(host: DockerHost): SudoPasswordSource {
  const fromData = host.data.sudo_password;
  if (fromData instanceof MaskString) return { get: () => Promise.resolve(fromData) };
  if (typeof fromData === 'string' && fromData !== '') {
    const masked = new MaskString(fromData);
    return { get: () => Promise.resolve(masked) };
  }
  return host.sudoPassword;
}

/** One exec of the command built from `args` (no retries, no sudo retry). */
export async function runInContainer(
  host: DockerHost,
  session: Session,
  command: CommandInput,
  args: ConnectorArguments,
  options: Pick<RunShellCommandOptions, 'onOutput' | 'signal'>,
  extra: { stdoutSink?: Writable; user?: string } = {},
): Promise<CommandResult> {
  let { shell: program, script } = makeShellInvocation(command, args);
  const hideScript = script.hasSecrets();
  if (hideScript) {
    // The hidden path evals the text in `sh`: give it the full command.
    script = makeUnixCommand(command, args);
    program = 'sh';
  }
  // A sudo password goes first on stdin, never in the exec's command or environment.
  const stdin = withSudoPasswordStdin(args, args.stdin);
  const withPassword = stdin !== args.stdin;
  if (withPassword && args.getPty) {
    host.log.debug(
      `${host.name}: running without a terminal: a terminal would echo the sudo password sent on stdin.`,
    );
  }
  const output = await runExec({
    container: session.container,
    containerName: session.containerName,
    shell: program,
    script: script.getRawValue(),
    hideScript,
    shownCommand: String(toStringCommand(command)),
    user: extra.user ?? host.data.docker_user,
    tty: withPassword ? false : args.getPty,
    stdin,
    timeout: args.timeout,
    signal: options.signal,
    onOutput: options.onOutput,
    stdoutSink: extra.stdoutSink,
  });
  return {
    success: isSuccess(output.exitCode, output.signal, args.successExitCodes),
    output,
  };
}

/** A become script (sudo / su / doas), asking for the sudo password when sudo wants one. */
export function runBecomeScript(
  host: DockerHost,
  session: Session,
  script: StringCommand,
  options: FileOptions,
  extra: { stdin?: Readable; stdoutSink?: Writable } = {},
): Promise<CommandResult> {
  const args: ConnectorArguments = {
    ...becomeArguments(options),
    timeout: options.timeout,
    ...(extra.stdin !== undefined ? { stdin: extra.stdin } : {}),
  };
  return runWithSudoRetry(script, args, sudoPasswordSource(host), (next, nextArgs) =>
    runInContainer(host, session, next, nextArgs, { signal: options.signal }, extra),
  );
}

/** Run a plain command as root (cleanup the exec user may not be allowed to do). */
export function runAsRoot(
  host: DockerHost,
  session: Session,
  script: StringCommand,
): Promise<CommandResult> {
  return runInContainer(host, session, script, { timeout: 30 }, {}, { user: '0' });
}
