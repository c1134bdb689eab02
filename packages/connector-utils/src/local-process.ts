import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import {
  type CommandResult,
  type CommandStdin,
  isSuccess,
  OutputCollector,
  type OutputLine,
} from '@infra/core';
import { runStoppable } from './timing.js';

/** The controller's own secrets (the run's sudo password) never reach a command. */
const CONTROLLER_SECRETS = ['INFRA_SUDO_PASSWORD'];

export interface LocalProcessOptions {
  /** The program and its arguments, e.g. `['sh', '-c', 'true']`, `['chroot', DIR, 'sh', '-c', S]`. */
  argv: readonly string[];
  /** The command as shown in messages (masked): a timeout's `CommandTimeoutError` names it. */
  shownCommand: string;
  /** Variables added to this process's environment (which loses `INFRA_SUDO_PASSWORD`). */
  env?: Record<string, string> | undefined;
  /** Start from an empty environment instead of this process's: only `env` (e.g. a chroot's PATH). */
  clearEnv?: boolean | undefined;
  cwd?: string | undefined;
  stdin?: CommandStdin | undefined;
  /** Seconds before the process group is killed and the call rejects with `CommandTimeoutError`. */
  timeout?: number | undefined;
  /** An abort kills the process group; the call rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  successExitCodes?: readonly number[] | undefined;
  /** Every output line as it arrives. */
  onOutput?: ((line: OutputLine) => void) | undefined;
  /** Raw stdout bytes go here (never ended) instead of into the output lines: binary-safe. */
  stdoutSink?: Writable | undefined;
  /** Raw stdout / stderr chunks as they arrive, instead of lines (a transport's own use). */
  onStdout?: ((chunk: Buffer) => void) | undefined;
  onStderr?: ((chunk: Buffer) => void) | undefined;
  /** Processes still running, so a `disconnect()` can kill them: see `ProcessGroups`. */
  groups?: ProcessGroups | undefined;
}

/** Kill a whole process group with SIGKILL; a group that is already gone is fine. */
export function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: every process of the group has exited already.
  }
}

/** The process groups a connector started and that still run; `killAll()` on disconnect. */
export class ProcessGroups {
  readonly #running = new Set<ChildProcess>();

  add(child: ChildProcess): void {
    this.#running.add(child);
  }

  delete(child: ChildProcess): void {
    this.#running.delete(child);
  }

  killAll(): void {
    for (const child of this.#running) killProcessGroup(child);
    this.#running.clear();
  }
}

function isStream(stdin: CommandStdin): stdin is NodeJS.ReadableStream {
  return typeof stdin === 'object' && !Buffer.isBuffer(stdin);
}

function childEnvironment(
  extra: Record<string, string> | undefined,
  clear: boolean | undefined,
): NodeJS.ProcessEnv {
  const env = { ...(clear ? {} : process.env), ...extra };
  for (const name of CONTROLLER_SECRETS) delete env[name];
  return env;
}

/**
 * pyinfra's `run_local_process`: run `argv` in a process group of its own (so a kill
 * reaches every process it started), feed it stdin (a string, Buffer or stream),
 * stream its output lines as they arrive (or its raw stdout into a sink), and resolve
 * with the result. A timeout or an abort kills the whole group with SIGKILL, the same
 * way everywhere, and rejects by the one rule of `runStoppable`.
 */
export function runLocalProcess(options: LocalProcessOptions): Promise<CommandResult> {
  return runStoppable(options, (stop) => spawnAndWait(options, stop));
}

/**
 * `runLocalProcess` for a caller that applies the abort/timeout rule itself (a
 * transport's `runRaw`): `stop` kills the group; the call then rejects with its reason.
 */
export function spawnAndWait(
  options: LocalProcessOptions,
  stop: AbortSignal,
): Promise<CommandResult> {
  const { stdin } = options;
  return new Promise<CommandResult>((resolve, reject) => {
    const [program, ...args] = options.argv;
    if (program === undefined) {
      reject(new TypeError(`runLocalProcess: an empty argv for ${options.shownCommand}`));
      return;
    }
    const child = spawn(program, args, {
      detached: true,
      cwd: options.cwd,
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: childEnvironment(options.env, options.clearEnv),
    });
    options.groups?.add(child);

    const collector = new OutputCollector(options.onOutput);
    let failure: { error: unknown } | undefined;
    let settled = false;

    const kill = (error: unknown) => {
      failure ??= { error };
      killProcessGroup(child);
      // A process that left the group may still hold the pipes: stop waiting for them.
      const dropPipes = () => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      };
      if (child.exitCode !== null || child.signalCode !== null) dropPipes();
      else child.once('exit', dropPipes);
    };
    const onStop = () => kill(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    const finish = () => {
      settled = true;
      options.groups?.delete(child);
      stop.removeEventListener('abort', onStop);
    };

    if (options.stdoutSink) {
      const sink = options.stdoutSink;
      child.stdout?.pipe(sink, { end: false });
      sink.once('error', (error) => kill(error));
    } else if (options.onStdout) {
      child.stdout?.on('data', options.onStdout);
    } else {
      child.stdout?.on('data', (chunk: Buffer) => collector.stdout.push(chunk));
    }
    if (options.onStderr) child.stderr?.on('data', options.onStderr);
    else child.stderr?.on('data', (chunk: Buffer) => collector.stderr.push(chunk));

    if (stdin !== undefined && child.stdin) {
      // The command may exit without reading its input (EPIPE): that is its business.
      child.stdin.on('error', () => {});
      if (isStream(stdin)) {
        // Not `pipeline`: a failing source must not end the command's input (a
        // half-written file would look complete). Kill the command instead.
        stdin.once('error', (error) => kill(error));
        stdin.pipe(child.stdin);
      } else {
        child.stdin.end(stdin);
      }
    }

    child.once('error', (error) => {
      if (settled) return;
      finish();
      reject(error);
    });
    child.once('close', (exitCode, signalName) => {
      if (settled) return;
      finish();
      if (failure) {
        reject(failure.error);
        return;
      }
      resolve({
        success: isSuccess(exitCode, signalName, options.successExitCodes),
        output: collector.finish(exitCode, signalName),
      });
    });
  });
}
