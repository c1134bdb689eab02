import { randomBytes } from 'node:crypto';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { RawCommand, RawCommandIo, RawExit, RunRaw } from './transport.js';
import { type Wrapper, wrapRawCommand } from './wrapped-command.js';

/** The variable every process of a wrapped command carries, so a kill can find them all. */
export const WRAP_TAG_ENV = 'INFRA_WRAP_ID';

/**
 * Kill, on the via host, every process carrying the tag (and the process group of
 * each): the way to stop a wrapped command that its via host's own stop cannot
 * reach (sshd refuses signals on a root login; sudo's processes are root's).
 * Needs only /proc, `tr` and `grep` there, outside the target.
 */
function killTaggedScript(tag: string): string {
  return `for f in /proc/[0-9]*/environ; do if tr '\\0' '\\n' < "$f" 2>/dev/null | grep -qx "${WRAP_TAG_ENV}=${tag}"; then p=\${f#/proc/}; p=\${p%/environ}; kill -9 -"$p" 2>/dev/null || kill -9 "$p" 2>/dev/null; fi; done; :`;
}

const discard = (): Writable =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

/** Seconds the kill of a wrapped command may take on the via host. */
const KILL_TIMEOUT = 30;

/**
 * Passes stderr on, without its first line when that is `marker` (which it
 * reports with `onMarker`).
 */
function stderrWithoutMarker(stderr: Writable, marker: string, onMarker: () => void): Writable {
  let head: Buffer | undefined = Buffer.alloc(0);
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (head === undefined) {
        stderr.write(chunk);
        return callback();
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(10);
      if (end < 0 && head.length <= marker.length) return callback();
      const rest =
        end >= 0 && head.subarray(0, end).toString() === marker ? head.subarray(end + 1) : head;
      if (rest !== head) onMarker();
      head = undefined;
      if (rest.length > 0) stderr.write(rest);
      callback();
    },
  });
}

/**
 * Run `command` inside the wrapper on the via host (`run` is its `runRawCommand`):
 * one quoted script whose processes all carry a tag. When `io.signal` fires, or a
 * stdin stream fails, the tagged processes are killed there first, and only then
 * does the via host see the stop or the end of stdin: the command never takes half
 * its input for all of it. The call settles once they are gone.
 */
export async function runThroughVia(
  run: RunRaw,
  command: RawCommand,
  wrapper: Wrapper,
  io: RawCommandIo,
): Promise<RawExit> {
  const tag = randomBytes(12).toString('hex');
  const marker = `infra-wrap-started-${tag}`;
  let onStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onStarted = resolve;
  });
  const stop = new AbortController();
  let killing: Promise<unknown> | undefined;
  let running: Promise<RawExit> | undefined;
  const kill = (): Promise<unknown> => {
    const ended = running?.then(
      () => false,
      () => false,
    );
    killing ??= Promise.race([started.then(() => true), ...(ended ? [ended] : [])]).then(
      async (hasStarted) => {
        if (hasStarted) {
          await run(
            {
              shell: 'sh',
              script: killTaggedScript(tag),
              hasSecrets: false,
              shownCommand: `kill what ${command.shownCommand} started`,
            },
            {
              stdout: discard(),
              stderr: discard(),
              signal: AbortSignal.timeout(KILL_TIMEOUT * 1000),
            },
          ).catch(() => undefined);
        }
      },
    );
    return killing;
  };
  let stdin = command.stdin;
  let stdinFailed: { error: unknown } | undefined;
  if (stdin instanceof Readable) {
    const source = stdin;
    const relay = new PassThrough();
    source.once('error', (error) => {
      stdinFailed = { error };
      void kill().then(() => relay.destroy(error));
    });
    source.pipe(relay);
    stdin = relay;
  }
  const onAbort = () => {
    void kill().then(() => stop.abort(io.signal.reason));
  };
  io.signal.addEventListener('abort', onAbort, { once: true });
  try {
    running = run(
      wrapRawCommand({ ...command, stdin }, wrapper, { tag: [WRAP_TAG_ENV, tag], marker }),
      {
        stdout: io.stdout,
        stderr: stderrWithoutMarker(io.stderr, marker, onStarted),
        signal: stop.signal,
      },
    );
    const exit = await running;
    // Killed because its input broke: that is the failure, whatever the exit says.
    if (stdinFailed) throw stdinFailed.error;
    return exit;
  } finally {
    io.signal.removeEventListener('abort', onAbort);
    await killing;
  }
}
