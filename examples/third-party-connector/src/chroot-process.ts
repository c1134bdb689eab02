import { type ChildProcess, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import {
  type CommandResult,
  type CommandStdin,
  CommandTimeoutError,
  isSuccess,
  OutputCollector,
  type OutputLine,
  type StringCommand,
} from '@infra/core';

/**
 * A command holding a secret (a `MaskString`) reaches the shell through this
 * variable, never through an argv that `ps` shows; the shell unsets it before
 * running the command, so the command's children do not inherit it.
 */
const HIDDEN_COMMAND_ENV = 'INFRA_CHROOT_COMMAND';
const RUN_HIDDEN_COMMAND = `__infra_command=$${HIDDEN_COMMAND_ENV}; unset ${HIDDEN_COMMAND_ENV}; eval "$__infra_command"`;

/** The environment inside the chroot: nothing of the caller's leaks in. */
const CHROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
};

export interface ChrootProcessOptions {
  /** The directory to chroot into. */
  root: string;
  /** The shell (inside the chroot) that runs the script with `-c`. */
  shell: string;
  script: StringCommand;
  /** The command as messages show it (masked). */
  shownCommand: string;
  stdin?: CommandStdin | undefined;
  /** Seconds. */
  timeout?: number | undefined;
  signal?: AbortSignal | undefined;
  successExitCodes?: readonly number[] | undefined;
  onOutput?: ((line: OutputLine) => void) | undefined;
  /** Send stdout's bytes here instead of splitting them into lines (for `getFile`). */
  stdoutSink?: Writable;
}

/** Kill the command's whole process group: the shell and everything it started. */
export function killProcessGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Run `chroot ROOT SHELL -c SCRIPT` in a process group of its own, streaming its
 * output lines as they arrive. `running` holds the processes `disconnect()` kills.
 */
export function runInChroot(
  options: ChrootProcessOptions,
  running: Set<ChildProcess>,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const hidden = options.script.hasSecrets();
    const raw = options.script.getRawValue();
    const child = spawn(
      'chroot',
      [options.root, options.shell, '-c', hidden ? RUN_HIDDEN_COMMAND : raw],
      {
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: hidden ? { ...CHROOT_ENV, [HIDDEN_COMMAND_ENV]: raw } : CHROOT_ENV,
      },
    );
    running.add(child);
    const collector = new OutputCollector(options.onOutput);
    let timedOut = false;
    let aborted = false;

    const timer =
      options.timeout !== undefined && options.timeout > 0
        ? setTimeout(() => {
            timedOut = true;
            killProcessGroup(child);
          }, options.timeout * 1000)
        : undefined;
    const onAbort = () => {
      aborted = true;
      killProcessGroup(child);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    if (options.stdoutSink) {
      child.stdout.pipe(options.stdoutSink, { end: false });
    } else {
      child.stdout.on('data', (chunk: Buffer) => collector.stdout.push(chunk));
    }
    child.stderr.on('data', (chunk: Buffer) => collector.stderr.push(chunk));

    // The command may exit without reading all of its stdin: that is not an error here.
    child.stdin.on('error', () => {});
    const input = options.stdin;
    if (input === undefined) child.stdin.end();
    else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
    else input.pipe(child.stdin);

    const finish = () => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      running.delete(child);
    };
    child.once('error', (error) => {
      finish();
      reject(error);
    });
    child.once('close', (code, signal) => {
      finish();
      if (options.stdoutSink) child.stdout.unpipe(options.stdoutSink);
      if (timedOut) {
        reject(new CommandTimeoutError(options.shownCommand, options.timeout ?? 0));
      } else if (aborted) {
        reject(options.signal?.reason ?? new Error(`${options.shownCommand} was aborted`));
      } else {
        resolve({
          success: isSuccess(code, signal, options.successExitCodes),
          output: collector.finish(code, signal),
        });
      }
    });
  });
}
