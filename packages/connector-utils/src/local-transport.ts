import { type ProcessGroups, spawnAndWait } from './local-process.js';
import type { RawCommand, RawCommandIo, RawExit } from './transport.js';

/**
 * The variable that carries a script holding secrets to the shell, so the secret is
 * never in an argv that `ps` shows. The shell copies it to a local variable and
 * unsets it before evaluating it, so the command's children do not inherit it.
 * (The initial environment stays readable in /proc/PID/environ, but only by the
 * same user and root.)
 */
const HIDDEN_SCRIPT_ENV = 'INFRA_HIDDEN_SCRIPT';
const RUN_HIDDEN_SCRIPT = `__infra_script=$${HIDDEN_SCRIPT_ENV}; unset ${HIDDEN_SCRIPT_ENV}; eval "$__infra_script"`;

export interface LocalTransportOptions {
  /** What runs the shell: nothing for this machine, `['chroot', DIR]`, `['nsenter', '-t', PID, '-a']`... */
  prefix?: readonly string[];
  /** Variables for the process (added to this process's environment unless `clearEnv`). */
  env?: Record<string, string>;
  clearEnv?: boolean;
  /** The connector's running process groups, killed by its `disconnect()`. */
  groups?: ProcessGroups;
}

/**
 * A whole `runRaw` for a transport that is a process on this machine:
 * `PREFIX... SHELL -c SCRIPT` through `runLocalProcess`, in a process group of its
 * own, killed when `io.signal` fires; a script holding a secret goes through the
 * environment, never the argv.
 */
export async function runRawLocally(
  command: RawCommand,
  io: RawCommandIo,
  options: LocalTransportOptions = {},
): Promise<RawExit> {
  const script = command.hasSecrets ? RUN_HIDDEN_SCRIPT : command.script;
  const env = command.hasSecrets
    ? { ...options.env, [HIDDEN_SCRIPT_ENV]: command.script }
    : options.env;
  // `io.signal` already carries the timeout and the abort: no second timer here.
  const { output } = await spawnAndWait(
    {
      argv: [...(options.prefix ?? []), command.shell, '-c', script],
      env,
      clearEnv: options.clearEnv,
      shownCommand: command.shownCommand,
      stdin: command.stdin,
      stdoutSink: io.stdout,
      onStderr: (chunk) => io.stderr.write(chunk),
      groups: options.groups,
    },
    io.signal,
  );
  return { exitCode: output.exitCode, signal: output.signal };
}
