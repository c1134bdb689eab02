import {
  type RawCommand,
  type RawCommandIo,
  type RawExit,
  type RunOnceOptions,
  type RunRaw,
  runCommandOnce,
} from '@infra/connector-utils';
import type { CommandInput, CommandResult, ConnectorArguments, StringCommand } from '@infra/core';
import { runExec } from './docker-exec.js';
import type { DockerHost, Session } from './docker-session.js';

/** Run one raw command in the container, as `user` (default: docker_user, else the container's). */
export function execInContainer(
  host: DockerHost,
  session: Session,
  command: RawCommand,
  io: RawCommandIo,
  user?: string,
): Promise<RawExit> {
  // The sudo password is the first line of stdin: a terminal would echo it, so
  // such a command runs without one.
  const withPassword = command.passwordOnStdin === true;
  if (withPassword && command.getPty) {
    host.log.debug(
      `${host.name}: running without a terminal: a terminal would echo the sudo password sent on stdin.`,
    );
  }
  return runExec({
    container: session.container,
    containerName: session.containerName,
    shell: command.shell,
    script: command.script,
    hideScript: command.hasSecrets,
    shownCommand: command.shownCommand,
    user: user ?? host.data.docker_user,
    tty: withPassword ? false : command.getPty,
    stdin: command.stdin,
    stdout: io.stdout,
    stderr: io.stderr,
    signal: io.signal,
  });
}

/** The container as a transport for the shared layer's `runCommandOnce`. */
function transportOf(host: DockerHost, session: Session, user?: string): RunRaw {
  return (command, io) => execInContainer(host, session, command, io, user);
}

/** One run of a command in the container (no retries, no sudo retry), by the shared rules. */
export function runInContainer(
  host: DockerHost,
  session: Session,
  command: CommandInput,
  args: ConnectorArguments,
  options: RunOnceOptions = {},
  user?: string,
): Promise<CommandResult> {
  return runCommandOnce(transportOf(host, session, user), command, args, options);
}

/** Run a plain command as root (cleanup the exec user may not be allowed to do). */
export function runAsRoot(
  host: DockerHost,
  session: Session,
  script: StringCommand,
): Promise<CommandResult> {
  return runInContainer(host, session, script, { timeout: 30 }, {}, '0');
}
