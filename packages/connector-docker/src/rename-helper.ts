import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { settlesWithin } from '@infra/connector-utils';
import type { Container } from 'dockerode';
import { EXEC_ID_ENV, killExec } from './docker-exec.js';
import { StreamDemuxer } from './stream-demuxer.js';

/**
 * Shell that removes the temporary files of the target in `$d` that an earlier
 * put left (the container or the connection died before the rename) and that no
 * put has touched for a minute: `.NAME.infra-*.tmp` beside it. The glob costs no
 * process unless one is there; nothing is printed.
 */
export const STALE_TEMP_SWEEP = `for o in "\${d%/*}/.\${d##*/}".infra-*.tmp; do [ -f "$o" ] && find "$o" -mmin +1 -exec rm -f {} \\; ; done >/dev/null 2>&1`;

/**
 * Shell that gives the temp file in `$t` the owner of the file `$d` it replaces,
 * where the exec user may (root may; others keep their own), as a become put's
 * install script does. `$me` is the temp file's `uid:gid` (the exec user's); a
 * chown clears set-id bits, so the mode is set again after it.
 */
export const KEEP_OWNER = `if [ -e "$d" ] && o=$(stat -c %u:%g "$d" 2>/dev/null) && [ "$o" != "$me" ] && m=$(stat -c %a "$t" 2>/dev/null); then chown "$o" "$t" 2>/dev/null && chmod "$m" "$t"; fi`;

/**
 * The loop of the rename helper: two lines in (the temp path and the target, each
 * byte as a `\ooo` octal escape, so any path survives `read`), one line out
 * (`0:` or `STATUS:mv's error`). A target that exists and is not a regular file
 * is not replaced; one that is keeps its owner (KEEP_OWNER); after a rename,
 * stale temporary files of the same target are removed (STALE_TEMP_SWEEP).
 * `$(...; echo x)` then `${v%x}` keeps a trailing newline of a path that `$(...)`
 * alone would strip.
 */
const HELPER_SCRIPT = `me=$(id -u):$(id -g)
while IFS= read -r t && IFS= read -r d; do
t=$(printf "$t"; echo x); t=\${t%x}; d=$(printf "$d"; echo x); d=\${d%x}
if [ -e "$d" ] && [ ! -f "$d" ]; then echo '1:the target exists and is not a regular file (a directory, device, pipe or socket): a put replaces only regular files'
else ${KEEP_OWNER}; if e=$(mv -f -- "$t" "$d" 2>&1); then ${STALE_TEMP_SWEEP}; echo 0:; else s=$?; printf '%s:%s\\n' "$s" "$(printf '%s' "$e" | tr '\\n' ' ')"; fi; fi
done`;

/** How long (seconds) a closed loop that is not stuck may take to end before it is killed. */
const CLOSE_GRACE_SECONDS = 1;

/** A path as `printf` format text: every byte an octal escape. */
export function encodeForPrintf(path: string): string {
  let out = '';
  for (const byte of Buffer.from(path, 'utf8')) out += `\\${byte.toString(8).padStart(3, '0')}`;
  return out;
}

export interface RenameResult {
  /** mv's exit status: 0 when the file is in place. */
  readonly status: number;
  readonly message: string;
}

/**
 * One long-lived exec per connection, as the exec user, that renames the files
 * `putArchive` dropped under a temporary name over their targets (`mv -f`,
 * atomic in one directory). A put then costs no exec of its own: starting an
 * exec (runc) costs tens of milliseconds, a rename in a running loop about one.
 * Its stdin is this connection: when the connection ends, so does the loop.
 */
export class RenameHelper {
  readonly #container: Container;
  readonly #execId: string;
  readonly #stream: Duplex;
  readonly #pending: { resolve(result: RenameResult): void; reject(error: Error): void }[] = [];
  #stdout = '';
  #stderr = '';
  #ended: Error | undefined;
  /** The kill of the loop's processes, once one was asked for (or the wait for its end). */
  #killed: Promise<void> | undefined;
  /** Settles when the exec's stream has ended: the loop is gone. */
  readonly #finished: Promise<void>;

  private constructor(container: Container, execId: string, stream: Duplex) {
    this.#container = container;
    this.#execId = execId;
    this.#stream = stream;
    const demuxer = new StreamDemuxer(
      (chunk) => this.#onStdout(chunk),
      (chunk) => {
        this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-2000);
      },
    );
    stream.on('data', (chunk: Buffer) => demuxer.push(chunk));
    const end = () =>
      this.#end(
        new Error(
          `the rename helper in the container ended${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`,
        ),
      );
    stream.once('end', end);
    stream.once('close', end);
    stream.on('error', (error: Error) => this.#end(error));
    this.#finished = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  }

  /** Start the loop as `user` (the exec user). Rejects when the daemon cannot start it. */
  static async start(container: Container, user: string | undefined): Promise<RenameHelper> {
    const execId = randomBytes(12).toString('hex');
    const exec = await container.exec({
      Cmd: ['sh', '-c', HELPER_SCRIPT],
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      Env: [`${EXEC_ID_ENV}=${execId}`],
      ...(user !== undefined ? { User: user } : {}),
    });
    const stream = (await exec.start({ hijack: true, stdin: true, Tty: false })) as Duplex;
    return new RenameHelper(container, execId, stream);
  }

  /** False once the loop has ended (the container stopped, a timeout killed it, `close()`). */
  get alive(): boolean {
    return this.#ended === undefined;
  }

  /** No rename is waiting on the loop (none was asked for, or all came back). */
  get idle(): boolean {
    return this.#pending.length === 0;
  }

  /**
   * End the loop and kill its processes (SIGKILL: a stopped or stuck loop goes
   * too); renames waiting on it reject with `reason`. Settles when they are gone.
   * A loop that ended by itself needs no kill.
   */
  kill(reason: Error): Promise<void> {
    if (this.#killed) return this.#killed;
    if (this.#ended) return Promise.resolve();
    this.#end(reason);
    this.#killed = killExec(this.#container, this.#execId);
    return this.#killed;
  }

  /** Rename `tempPath` over `destPath`; an abort kills the loop (`kill`; a new one starts next time). */
  rename(tempPath: string, destPath: string, signal?: AbortSignal): Promise<RenameResult> {
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise<RenameResult>((resolve, reject) => {
      const reasonOf = () =>
        signal?.reason instanceof Error ? signal.reason : new Error('the rename was aborted');
      if (signal?.aborted) {
        reject(reasonOf());
        return;
      }
      const onAbort = () => void this.kill(reasonOf());
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle =
        <T>(next: (value: T) => void) =>
        (value: T) => {
          signal?.removeEventListener('abort', onAbort);
          next(value);
        };
      this.#pending.push({ resolve: settle(resolve), reject: settle(reject) });
      this.#stream.write(`${encodeForPrintf(tempPath)}\n${encodeForPrintf(destPath)}\n`);
    });
  }

  /**
   * End the loop: its stdin closes, and a loop that is not stuck ends at once.
   * One that renames still wait on, or that has not ended within a second
   * (stopped, or in a rename that hangs: it never reads the end), is killed, so
   * none is left behind in the container. Settles when it is gone.
   */
  close(): Promise<void> {
    const reason = new Error('the rename helper was closed');
    if (!this.idle || this.#ended) return this.kill(reason);
    this.#end(reason);
    this.#killed = settlesWithin(this.#finished, CLOSE_GRACE_SECONDS).then((ended) =>
      ended ? undefined : killExec(this.#container, this.#execId),
    );
    return this.#killed;
  }

  #onStdout(chunk: Buffer): void {
    this.#stdout += chunk.toString('utf8');
    for (let newline = this.#stdout.indexOf('\n'); newline !== -1; ) {
      const line = this.#stdout.slice(0, newline);
      this.#stdout = this.#stdout.slice(newline + 1);
      const colon = line.indexOf(':');
      this.#pending.shift()?.resolve({
        status: Number(line.slice(0, colon)),
        message: line.slice(colon + 1).trim(),
      });
      newline = this.#stdout.indexOf('\n');
    }
  }

  #end(error: Error): void {
    if (this.#ended) return;
    this.#ended = error;
    for (const pending of this.#pending.splice(0)) pending.reject(error);
    this.#stream.end();
    // A stream still open after a while is held by nothing we need.
    setTimeout(() => this.#stream.destroy(), 2000).unref();
  }
}
