import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import {
  type CommandResult,
  type CommandStdin,
  CommandTimeoutError,
  isSuccess,
  OutputCollector,
  type OutputLine,
} from '@infra/core';

/**
 * The variable that carries a command holding secrets to the shell, so the
 * secret is never in an argv that `ps` shows. The shell copies it to a local
 * variable and unsets it before evaluating it, so the command's children do not
 * inherit it. (The initial environment stays readable in /proc/PID/environ, but
 * only by the same user and root.)
 */
const HIDDEN_COMMAND_ENV = 'INFRA_LOCAL_COMMAND';
const RUN_HIDDEN_COMMAND = `__infra_command=$${HIDDEN_COMMAND_ENV}; unset ${HIDDEN_COMMAND_ENV}; eval "$__infra_command"`;

export interface ShellProcessOptions {
  /** The shell that runs the script (`sh` unless the command asked for another). */
  shell?: string | undefined;
  /** The raw shell text run by `SHELL -c`. */
  script: string;
  /** The command as shown in messages (masked). */
  shownCommand: string;
  /** Pass the script through the environment instead of argv (it holds secrets). */
  hideScript?: boolean;
  stdin?: CommandStdin | undefined;
  /** Seconds before the process group is killed. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
  successExitCodes?: readonly number[] | undefined;
  onOutput?: ((line: OutputLine) => void) | undefined;
  /** Raw stdout bytes go here (never ended) instead of into the output lines. */
  stdoutSink?: Writable | undefined;
}

/** The controller's own secrets (the run's sudo password) never reach a command. */
const CONTROLLER_SECRETS = ['INFRA_SUDO_PASSWORD'];

function childEnvironment(hiddenScript: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of CONTROLLER_SECRETS) delete env[name];
  if (hiddenScript !== undefined) env[HIDDEN_COMMAND_ENV] = hiddenScript;
  return env;
}

function isStream(stdin: CommandStdin): stdin is NodeJS.ReadableStream {
  return typeof stdin === 'object' && !Buffer.isBuffer(stdin);
}

/** Kill a whole process group; a group that is already gone is fine. */
export function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // ESRCH: every process of the group has exited already.
  }
}

/**
 * Run `SHELL -c SCRIPT` in its own process group (so a kill reaches every process
 * it started), stream its output lines as they arrive, and resolve with the
 * result. A timeout kills the group and rejects with `CommandTimeoutError`; an
 * abort kills the group and rejects with the signal's reason.
 */
export function runShellProcess(
  options: ShellProcessOptions,
  running: Set<ChildProcess>,
): Promise<CommandResult> {
  const { signal, stdin } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);

  return new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(
      options.shell ?? 'sh',
      ['-c', options.hideScript ? RUN_HIDDEN_COMMAND : options.script],
      {
        detached: true,
        stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        env: childEnvironment(options.hideScript ? options.script : undefined),
      },
    );
    running.add(child);

    const collector = new OutputCollector(options.onOutput);
    let failure: { error: unknown } | undefined;
    let timer: NodeJS.Timeout | undefined;
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
    const onAbort = () => kill(signal?.reason);
    const finish = () => {
      settled = true;
      running.delete(child);
      if (timer) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };

    if (options.timeout !== undefined && options.timeout > 0) {
      const seconds = options.timeout;
      timer = setTimeout(
        () => kill(new CommandTimeoutError(options.shownCommand, seconds)),
        seconds * 1000,
      );
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    if (options.stdoutSink) {
      const sink = options.stdoutSink;
      child.stdout?.pipe(sink, { end: false });
      sink.once('error', (error) => kill(error));
    } else {
      child.stdout?.on('data', (chunk: Buffer) => collector.stdout.push(chunk));
    }
    child.stderr?.on('data', (chunk: Buffer) => collector.stderr.push(chunk));

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
