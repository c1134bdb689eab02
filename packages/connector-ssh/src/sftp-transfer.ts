import type { Readable, Writable } from 'node:stream';
import type { SFTPWrapper, Stats } from 'ssh2';

/** OpenSSH's sftp-server takes READ and WRITE requests of up to 255 KiB (its message limit less 1 KiB). */
const PREFERRED_REQUEST_BYTES = 255 * 1024;
/** Bytes kept in flight: about the server's channel window (2 MiB), so the pipe never runs dry. */
const IN_FLIGHT_BYTES = 2 * 1024 * 1024;

/**
 * The size of one READ or WRITE request: 255 KiB, or less when the server says so.
 * ssh2 keeps the server's limits (limits@openssh.com, else 32 KiB-ish) in private
 * fields and splits a bigger request into ones it sends one after the other, which
 * would stall the pipeline.
 */
export function sftpRequestSize(sftp: SFTPWrapper, kind: 'read' | 'write'): number {
  const limits = sftp as unknown as { _maxReadLen?: unknown; _maxWriteLen?: unknown };
  const limit = kind === 'read' ? limits._maxReadLen : limits._maxWriteLen;
  return typeof limit === 'number' && limit > 0
    ? Math.min(PREFERRED_REQUEST_BYTES, limit)
    : 32 * 1024 - 64;
}

function requestsInFlight(requestSize: number): number {
  return Math.max(4, Math.ceil(IN_FLIGHT_BYTES / requestSize));
}

function call<T>(
  run: (callback: (error: Error | null | undefined, value: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value)));
  });
}

/** Settle as `promise` does, or reject with the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The mode the server gives a new file that is asked for as 0666, i.e. 0666 less
 * the SFTP server's umask (what `sftp put` of a 0666 file gets). Learnt from an
 * empty probe file at `probePath`, which is removed again.
 */
export async function sftpNewFileMode(sftp: SFTPWrapper, probePath: string): Promise<number> {
  const handle = await call<Buffer>((cb) => sftp.open(probePath, 'wx', { mode: 0o666 }, cb));
  try {
    const stats = await call<Stats>((cb) => sftp.fstat(handle, cb));
    return stats.mode & 0o7777;
  } finally {
    await call<void>((cb) => sftp.close(handle, (error) => cb(error, undefined))).catch(() => {});
    await sftpUnlink(sftp, probePath).catch(() => {});
  }
}

/** `stat` that resolves undefined when the path does not exist. */
export async function sftpStat(sftp: SFTPWrapper, path: string): Promise<Stats | undefined> {
  try {
    return await call<Stats>((cb) => sftp.stat(path, cb));
  } catch (error) {
    if ((error as { code?: unknown }).code === 2) return undefined; // SSH_FX_NO_SUCH_FILE
    throw error;
  }
}

export function sftpUnlink(sftp: SFTPWrapper, path: string): Promise<void> {
  return call<void>((cb) => sftp.unlink(path, (error) => cb(error, undefined)));
}

export function sftpChmod(sftp: SFTPWrapper, path: string, mode: number): Promise<void> {
  return call<void>((cb) => sftp.chmod(path, mode, (error) => cb(error, undefined)));
}

/** Rename over an existing file: OpenSSH's posix-rename when the server has it. */
export function sftpReplace(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  return call<void>((cb) => {
    try {
      sftp.ext_openssh_rename(from, to, (error) => cb(error, undefined));
    } catch {
      // no posix-rename@openssh.com: plain rename (fails when the target exists on some servers)
      sftp.rename(from, to, (error) => cb(error, undefined));
    }
  });
}

/**
 * Write a stream to a new remote file (`wx`: never an existing one), with about
 * IN_FLIGHT_BYTES of WRITE requests outstanding. Resolves with the bytes written.
 */
export async function uploadStream(
  sftp: SFTPWrapper,
  source: Readable,
  remotePath: string,
  mode: number,
  signal?: AbortSignal,
): Promise<number> {
  signal?.throwIfAborted();
  const handle = await call<Buffer>((cb) => sftp.open(remotePath, 'wx', { mode }, cb));
  // Aborting destroys the source, which also ends a read that is waiting for data.
  const onAbort = () => source.destroy(signal?.reason as Error);
  signal?.addEventListener('abort', onAbort, { once: true });
  const requestSize = sftpRequestSize(sftp, 'write');
  const maxInFlight = requestsInFlight(requestSize);
  let position = 0;
  let inFlight = 0;
  let failure: Error | undefined;
  let onSlotFree: (() => void) | undefined;
  const slotFree = () =>
    new Promise<void>((resolve) => {
      onSlotFree = resolve;
    });
  const send = (piece: Buffer, at: number) => {
    inFlight++;
    sftp.write(handle, piece, 0, piece.length, at, (error) => {
      inFlight--;
      if (error) failure ??= error;
      const wake = onSlotFree;
      onSlotFree = undefined;
      wake?.();
    });
  };
  try {
    for await (const data of source) {
      const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      for (let offset = 0; offset < chunk.length; offset += requestSize) {
        const piece = chunk.subarray(offset, Math.min(chunk.length, offset + requestSize));
        while (inFlight >= maxInFlight) await untilAborted(slotFree(), signal);
        if (failure) throw failure;
        signal?.throwIfAborted();
        send(piece, position);
        position += piece.length;
      }
    }
    while (inFlight > 0) await untilAborted(slotFree(), signal);
    if (failure) throw failure;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // After an abort the answers to the requests already sent are not waited for.
    if (!signal?.aborted) while (inFlight > 0) await slotFree();
    await call<void>((cb) => sftp.close(handle, (error) => cb(error, undefined))).catch(() => {});
  }
  return position;
}

/**
 * Read a remote file into a writable stream in order, with about IN_FLIGHT_BYTES
 * of READ requests outstanding. Resolves with the bytes read.
 */
export async function downloadStream(
  sftp: SFTPWrapper,
  remotePath: string,
  dest: Writable,
  signal?: AbortSignal,
): Promise<number> {
  signal?.throwIfAborted();
  const handle = await call<Buffer>((cb) => sftp.open(remotePath, 'r', cb));
  const requestSize = sftpRequestSize(sftp, 'read');
  const maxInFlight = requestsInFlight(requestSize);
  try {
    const read = (at: number, length: number) =>
      call<Buffer>((cb) => {
        const buffer = Buffer.allocUnsafe(length);
        sftp.read(handle, buffer, 0, length, at, (error, bytesRead) =>
          cb(
            error === undefined || error === null ? undefined : error,
            buffer.subarray(0, bytesRead),
          ),
        );
      }).catch((error: { code?: unknown }) => {
        if (error.code === 1) return Buffer.alloc(0); // SSH_FX_EOF
        throw error;
      });
    const queue: { at: number; length: number; data: Promise<Buffer> }[] = [];
    let next = 0;
    let total = 0;
    let eof = false;
    const fill = () => {
      while (!eof && queue.length < maxInFlight) {
        const request = { at: next, length: requestSize, data: read(next, requestSize) };
        request.data.catch(() => {}); // awaited in order below
        queue.push(request);
        next += requestSize;
      }
    };
    fill();
    while (queue.length > 0) {
      const request = queue.shift()!;
      let data = await untilAborted(request.data, signal);
      let at = request.at + data.length;
      // A short read before the end of the request: read the rest of that range now.
      while (data.length > 0 && at < request.at + request.length && !eof) {
        const rest = await untilAborted(read(at, request.at + request.length - at), signal);
        if (rest.length === 0) {
          eof = true;
          break;
        }
        data = Buffer.concat([data, rest]);
        at += rest.length;
      }
      if (data.length === 0) {
        eof = true;
        await Promise.allSettled(queue.map((q) => q.data));
        queue.length = 0;
        break;
      }
      total += data.length;
      if (!dest.write(data)) {
        await untilAborted(new Promise((resolve) => dest.once('drain', resolve)), signal);
      }
      fill();
    }
    return total;
  } finally {
    await call<void>((cb) => sftp.close(handle, (error) => cb(error, undefined))).catch(() => {});
  }
}
