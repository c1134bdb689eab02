import { randomBytes } from 'node:crypto';
import type { Duplex, Writable } from 'node:stream';
import { type RawExit, sleep } from '@infra/connector-utils';
import type { CommandStdin } from '@infra/core';
import type { Container, Exec } from 'dockerode';
import { writeBounded } from './bounded-write.js';
import { ContainerStoppedError, DockerApiError, reasonOf, statusOf } from './docker-errors.js';
import { canUseExitMarker, ExitMarkerFilter, withExitMarker } from './exit-marker.js';
import { StreamDemuxer } from './stream-demuxer.js';

/**
 * Every exec carries this variable with a value of its own, so a timeout or an
 * abort can find (through /proc) and kill the exec's process group: the Engine
 * API has no call that kills an exec.
 */
export const EXEC_ID_ENV = 'INFRA_EXEC_ID';
/** A script too secret for the command line (a sudo password) travels in this variable. */
const HIDDEN_SCRIPT_ENV = 'INFRA_DOCKER_COMMAND';
const RUN_HIDDEN_SCRIPT = `__infra_command=$${HIDDEN_SCRIPT_ENV}; unset ${HIDDEN_SCRIPT_ENV}; eval "$__infra_command"`;

/**
 * Run as root in the container: SIGKILL the process group of every process whose
 * environment holds `INFRA_EXEC_ID=$1` (the exec's shell leads its group; sudo
 * and su keep theirs in it).
 */
const KILL_EXEC_SCRIPT = `for f in /proc/[0-9]*/environ; do if tr '\\0' '\\n' < "$f" 2>/dev/null | grep -qx "${EXEC_ID_ENV}=$1"; then p=\${f#/proc/}; p=\${p%/environ}; kill -9 -"$p" 2>/dev/null || kill -9 "$p" 2>/dev/null; fi; done; :`;

export interface ExecRequest {
  readonly container: Container;
  readonly containerName: string;
  /** The program: `[shell, '-c', script]`. */
  readonly shell: string;
  readonly script: string;
  /** Pass the script in the environment, not on the command line (it holds a secret). */
  readonly hideScript?: boolean;
  /** The command as shown to people (masked), for errors. */
  readonly shownCommand: string;
  readonly user?: string | undefined;
  readonly tty?: boolean | undefined;
  readonly stdin?: CommandStdin | undefined;
  /** The command's stdout bytes go here (never ended). */
  readonly stdout: Writable;
  /** The command's stderr bytes go here (never ended). */
  readonly stderr: Writable;
  /** When it fires (a timeout or an abort), the exec's processes are killed and the call settles. */
  readonly signal: AbortSignal;
}

/** Shells that take `trap : EXIT` (POSIX ones, bash, ksh, zsh). */
const POSIX_SHELLS = new Set(['sh', 'ash', 'dash', 'bash', 'ksh', 'mksh', 'zsh']);

/**
 * `script` behind an EXIT trap that does nothing, which keeps the exec's shell from
 * `exec`ing its last command: the shell, holding EXEC_ID_ENV, stays the leader of
 * the exec's process group, so a kill finds the group even when that command
 * clears its environment (busybox `su` does, then execs the user's shell).
 */
function keepShell(shell: string, script: string): string {
  return POSIX_SHELLS.has(shell.slice(shell.lastIndexOf('/') + 1))
    ? `trap : EXIT\n${script}`
    : script;
}

function isStream(stdin: CommandStdin): stdin is NodeJS.ReadableStream {
  return typeof stdin === 'object' && !Buffer.isBuffer(stdin);
}

/** How long a kill may take: a daemon that does not answer does not hold a stopped call longer. */
const KILL_TIMEOUT_MS = 30_000;

/** Kill an exec's processes through another exec (as root). Never throws; gives up after 30 s. */
export async function killExec(container: Container, execId: string): Promise<void> {
  const abortSignal = AbortSignal.timeout(KILL_TIMEOUT_MS);
  try {
    // dockerode takes an abort signal in both calls; its types do not say so.
    const killer = await container.exec({
      Cmd: ['sh', '-c', KILL_EXEC_SCRIPT, 'infra-kill', execId],
      User: '0',
      AttachStdout: true,
      AttachStderr: true,
      abortSignal,
    } as Parameters<Container['exec']>[0]);
    const stream = (await killer.start({ hijack: true, stdin: false, abortSignal } as {
      hijack: true;
      stdin: false;
    })) as Duplex;
    stream.resume();
    await new Promise<void>((resolve) => {
      const give = () => {
        stream.destroy();
        resolve();
      };
      abortSignal.addEventListener('abort', give, { once: true });
      const done = () => {
        abortSignal.removeEventListener('abort', give);
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.on('error', done);
    });
  } catch {
    // The container may be gone already: then so is the exec.
  }
}

/** Read the exit code once the daemon has noticed the process ended. */
async function exitCodeOf(exec: Exec): Promise<number | null> {
  for (let attempt = 0; ; attempt++) {
    const info = await exec.inspect();
    if (!info.Running || attempt >= 50) {
      return typeof info.ExitCode === 'number' ? info.ExitCode : null;
    }
    // 1, 2, 4 ... 50 ms between looks.
    await sleep(Math.min(2 ** attempt, 50) / 1000);
  }
}

function containerFailure(request: ExecRequest, error: unknown): Error {
  const status = statusOf(error);
  const reason = reasonOf(error);
  if (status === 404 || status === 409) {
    return new ContainerStoppedError(
      request.container.id,
      `Cannot run ${request.shownCommand} in container ${request.containerName}: ${reason}.`,
      { cause: error },
    );
  }
  return new DockerApiError(
    `Cannot run ${request.shownCommand} in container ${request.containerName}: ${reason}`,
    status,
    { cause: error },
  );
}

/**
 * After a stream that ended oddly (killed by a signal, cut short): is the
 * container still running? The daemon may learn of a container's death a moment
 * after the exec's stream ends, so ask a few times over a second before saying yes.
 */
async function assertContainerRunning(
  request: ExecRequest,
  exitCode: number | null,
): Promise<void> {
  let state = 'removed';
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const info = await request.container.inspect();
      state = info.State.Status;
      if (!info.State.Running || info.State.Paused) break;
    } catch (error) {
      if (statusOf(error) !== 404) throw containerFailure(request, error);
      state = 'removed';
      break;
    }
    if (attempt === 19) return;
    await sleep(0.05);
  }
  throw new ContainerStoppedError(
    request.container.id,
    `Container ${request.containerName} stopped (now ${state}) while running ${request.shownCommand}${exitCode === null ? '' : ` (exit ${exitCode})`}: the command did not finish, and nothing more can run on this host.`,
  );
}

/** Write to `sink`, pausing `source` while the sink holds too much (`writeBounded`). */
function writeTo(sink: Writable, source: Duplex): (chunk: Buffer) => void {
  return (chunk) => writeBounded(sink, chunk, source);
}

/**
 * One command through the Engine API (the docker connector's transport): create
 * the exec, start it on a hijacked connection, feed stdin, pass stdout and stderr
 * bytes on as they arrive (one raw stream with a TTY), then read the exit code
 * once the stream has ended. When `signal` fires the exec's processes are killed;
 * the caller (the shared layer's one abort/timeout rule) says why.
 */
export async function runExec(request: ExecRequest): Promise<RawExit> {
  const { container, stdin } = request;
  if (request.signal.aborted) return { exitCode: null, signal: null };
  const execId = randomBytes(12).toString('hex');
  const env = [`${EXEC_ID_ENV}=${execId}`];
  if (request.hideScript) env.push(`${HIDDEN_SCRIPT_ENV}=${request.script}`);
  const attachStdin = stdin !== undefined;
  // Without a TTY (one stream, \r\n) the shell reports its own exit code: no
  // `GET /exec/{id}/json` after the stream.
  const useMarker = !request.tty && canUseExitMarker(request.shell);
  const script = request.hideScript ? RUN_HIDDEN_SCRIPT : request.script;
  let exec: Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({
      Cmd: [
        request.shell,
        '-c',
        useMarker ? withExitMarker(script, execId) : keepShell(request.shell, script),
      ],
      AttachStdin: attachStdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: request.tty ?? false,
      Env: env,
      ...(request.user !== undefined ? { User: request.user } : {}),
    });
    stream = (await exec.start({
      hijack: true,
      stdin: attachStdin,
      Tty: request.tty ?? false,
    })) as Duplex;
  } catch (error) {
    throw containerFailure(request, error);
  }

  const onStdout = writeTo(request.stdout, stream);
  const onStderr = writeTo(request.stderr, stream);
  // `exec 2>&1` in a script sends the marker to stdout: look for it on both.
  const markers = useMarker
    ? [new ExitMarkerFilter(execId, onStdout), new ExitMarkerFilter(execId, onStderr)]
    : undefined;
  const demuxer = request.tty
    ? undefined
    : markers
      ? new StreamDemuxer(
          (chunk) => markers[0]?.push(chunk),
          (chunk) => markers[1]?.push(chunk),
        )
      : new StreamDemuxer(onStdout, onStderr);
  stream.on('data', (chunk: Buffer) => (demuxer ? demuxer.push(chunk) : onStdout(chunk)));

  let stopped = false;
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // The daemon closing the connection under us (container killed) is an end too.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || stopped) resolve();
      else reject(error);
    });
  });

  const stop = () => {
    if (stopped) return;
    stopped = true;
    void killExec(container, execId).then(() => {
      // The processes are gone; a stream still open after that is held by nothing.
      setTimeout(() => stream.destroy(), 2000).unref();
    });
  };
  request.signal.addEventListener('abort', stop, { once: true });

  if (attachStdin) {
    if (isStream(stdin)) {
      stdin.on('error', () => stream.end());
      stdin.pipe(stream);
    } else {
      stream.end(typeof stdin === 'string' ? Buffer.from(stdin) : stdin);
    }
    // Writing to a process that has exited (and closed its stdin) is no failure.
    stream.on('error', () => {});
  }

  try {
    await ended;
  } finally {
    request.signal.removeEventListener('abort', stop);
  }
  if (stopped) return { exitCode: null, signal: null };

  for (const marker of markers ?? []) marker.end();
  let exitCode: number | null | undefined = markers?.[1]?.exitCode ?? markers?.[0]?.exitCode;
  if (exitCode === undefined) {
    try {
      exitCode = await exitCodeOf(exec);
    } catch (error) {
      throw containerFailure(request, error);
    }
  }
  // 128 + a signal: the process was killed, maybe with the whole container.
  if (exitCode === null || exitCode >= 128 || demuxer?.incomplete) {
    await assertContainerRunning(request, exitCode);
  }
  return { exitCode, signal: null };
}
