import { open } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { untilAborted } from '@infra/connector-utils';
import type { FileEntryWithStats, Stats } from 'ssh2';
import type { SftpSession } from './sftp-session.js';

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
export function sftpRequestSize(session: SftpSession, kind: 'read' | 'write'): number {
  const limits = session.sftp as unknown as { _maxReadLen?: unknown; _maxWriteLen?: unknown };
  const limit = kind === 'read' ? limits._maxReadLen : limits._maxWriteLen;
  return typeof limit === 'number' && limit > 0
    ? Math.min(PREFERRED_REQUEST_BYTES, limit)
    : 32 * 1024 - 64;
}

function requestsInFlight(requestSize: number): number {
  return Math.max(4, Math.ceil(IN_FLIGHT_BYTES / requestSize));
}

/**
 * The mode the server gives a new file that is asked for as 0666, i.e. 0666 less
 * the SFTP server's umask (what `sftp put` of a 0666 file gets). Learnt from an
 * empty probe file at `probePath`, which is removed again.
 */
export async function sftpNewFileMode(session: SftpSession, probePath: string): Promise<number> {
  const { sftp } = session;
  const handle = await session.call<Buffer>((cb) =>
    sftp.open(probePath, 'wx', { mode: 0o666 }, cb),
  );
  try {
    const stats = await session.call<Stats>((cb) => sftp.fstat(handle, cb));
    return stats.mode & 0o7777;
  } finally {
    await sftpCloseHandle(session, handle).catch(() => {});
    await sftpUnlink(session, probePath).catch(() => {});
  }
}

function sftpCloseHandle(session: SftpSession, handle: Buffer): Promise<void> {
  return session.call<void>((cb) => session.sftp.close(handle, (error) => cb(error, undefined)));
}

/** `stat` (symbolic links followed) that resolves undefined when the path does not exist. */
export async function sftpStat(session: SftpSession, path: string): Promise<Stats | undefined> {
  try {
    return await session.call<Stats>((cb) => session.sftp.stat(path, cb));
  } catch (error) {
    if ((error as { code?: unknown }).code === 2) return undefined; // SSH_FX_NO_SUCH_FILE
    throw error;
  }
}

/** The entries of a directory, with their attributes. */
export function sftpReaddir(session: SftpSession, path: string): Promise<FileEntryWithStats[]> {
  return session.call<FileEntryWithStats[]>((cb) => session.sftp.readdir(path, cb));
}

export function sftpUnlink(session: SftpSession, path: string): Promise<void> {
  return session.call<void>((cb) => session.sftp.unlink(path, (error) => cb(error, undefined)));
}

export function sftpChmod(session: SftpSession, path: string, mode: number): Promise<void> {
  return session.call<void>((cb) =>
    session.sftp.chmod(path, mode, (error) => cb(error, undefined)),
  );
}

/** Rename over an existing file: OpenSSH's posix-rename when the server has it. */
/** Mode, and owner and group where the server lets us (else the mode alone), in one request. */
export async function sftpSetModeAndOwner(
  session: SftpSession,
  path: string,
  mode: number,
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  if (owner) {
    try {
      await session.call<void>((cb) =>
        session.sftp.setstat(path, { mode, uid: owner.uid, gid: owner.gid }, (error) =>
          cb(error, undefined),
        ),
      );
      return;
    } catch (error) {
      if (session.lostSignal.aborted) throw error;
      // Not allowed to give it that owner: the mode alone, as the shared install script does.
    }
  }
  await sftpChmod(session, path, mode);
}

export function sftpReplace(session: SftpSession, from: string, to: string): Promise<void> {
  const { sftp } = session;
  return session.call<void>((cb) => {
    try {
      sftp.ext_openssh_rename(from, to, (error) => cb(error, undefined));
    } catch {
      // no posix-rename@openssh.com: plain rename (fails when the target exists on some servers)
      sftp.rename(from, to, (error) => cb(error, undefined));
    }
  });
}

/**
 * One SFTP request (or a few in a row) that a stop ends: not sent once `signal`
 * has aborted, and not waited for once it does. A request already sent cannot be
 * taken back: the server still carries it out when it gets to it.
 */
export function stoppableRequest<T>(
  signal: AbortSignal | undefined,
  send: () => Promise<T>,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return untilAborted(send(), signal);
}

/** For a request whose answer no longer matters. */
function noAnswer(): void {}

/** The caller's signal, or the session being lost, whichever comes first. */
function stopSignal(session: SftpSession, signal: AbortSignal | undefined): AbortSignal {
  return signal ? AbortSignal.any([signal, session.lostSignal]) : session.lostSignal;
}

/**
 * A local file's bytes in chunks of `chunkSize`, read into two buffers that take
 * turns: the next read runs while the caller sends the current chunk. A chunk is
 * only valid until the next one is asked for, which is all an SFTP upload needs
 * (ssh2 copies a WRITE request's bytes when the request is made), and no buffer
 * is allocated per chunk.
 */
export async function* readFileChunks(path: string, chunkSize: number): AsyncGenerator<Buffer> {
  const file = await open(path, 'r');
  let pending: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  try {
    const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
    let turn = 0;
    pending = file.read(buffers[turn]!, 0, chunkSize, null);
    for (;;) {
      const { bytesRead, buffer } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      turn ^= 1;
      pending = file.read(buffers[turn]!, 0, chunkSize, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined);
    await file.close();
  }
}

/**
 * Write a stream (or the chunks of `readFileChunks`) to a new remote file (`wx`:
 * never an existing one), with about IN_FLIGHT_BYTES of WRITE requests
 * outstanding. Resolves with the bytes written. Stops at once when `signal`
 * aborts or the session is lost. `onOpen` runs once the file exists.
 */
export async function uploadStream(
  session: SftpSession,
  source: Readable | AsyncIterable<Buffer>,
  remotePath: string,
  mode: number,
  signal?: AbortSignal,
  options: { onOpen?: () => void } = {},
): Promise<number> {
  const stop = stopSignal(session, signal);
  stop.throwIfAborted();
  const { sftp } = session;
  const handle = await session.call<Buffer>((cb) => sftp.open(remotePath, 'wx', { mode }, cb));
  options.onOpen?.();
  // Stopping destroys a stream source, which also ends a read that is waiting for data
  // (a file's chunks stop at the next one, a moment later).
  const onStop = () => {
    if (source instanceof Readable) source.destroy(stop.reason as Error);
  };
  stop.addEventListener('abort', onStop, { once: true });
  const requestSize = sftpRequestSize(session, 'write');
  const maxInFlight = requestsInFlight(requestSize);
  let position = 0;
  let inFlight = 0;
  let failure: Error | undefined;
  let onSlotFree: (() => void) | undefined;
  const slotFree = () =>
    new Promise<void>((resolve) => {
      onSlotFree = resolve;
    });
  const settled = (error?: Error) => {
    inFlight--;
    if (error) failure ??= error;
    const wake = onSlotFree;
    onSlotFree = undefined;
    wake?.();
  };
  const send = (piece: Buffer, at: number) => {
    inFlight++;
    session
      .call<void>((cb) =>
        sftp.write(handle, piece, 0, piece.length, at, (error) => cb(error, undefined)),
      )
      .then(() => settled(), settled);
  };
  try {
    for await (const data of source) {
      const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      for (let offset = 0; offset < chunk.length; offset += requestSize) {
        const piece = chunk.subarray(offset, Math.min(chunk.length, offset + requestSize));
        while (inFlight >= maxInFlight) await untilAborted(slotFree(), stop);
        if (failure) throw failure;
        stop.throwIfAborted();
        send(piece, position);
        position += piece.length;
      }
    }
    while (inFlight > 0) await untilAborted(slotFree(), stop);
    if (failure) throw failure;
  } catch (error) {
    // A lost session's own reason says more than the request it failed ("No response from server").
    throw session.lostSignal.aborted ? session.lostSignal.reason : error;
  } finally {
    stop.removeEventListener('abort', onStop);
    // After a stop the answers to the requests already sent are not waited for,
    // nor is the answer to the close (a stalled server may never give it).
    try {
      while (inFlight > 0) await untilAborted(slotFree(), stop);
    } catch {
      // stopped
    }
    await untilAborted(sftpCloseHandle(session, handle).catch(noAnswer), stop).catch(noAnswer);
  }
  return position;
}

/**
 * Read a remote file into a writable stream in order, with about IN_FLIGHT_BYTES
 * of READ requests outstanding. Resolves with the bytes read. Stops at once when
 * `signal` aborts or the session is lost.
 *
 * `reuseBuffers`: `dest` is done with a chunk when its write callback runs (a
 * file stream, not a pass-through that hands the chunk on), so the READ buffers
 * are recycled instead of allocating a fresh 255 KiB buffer per request, which
 * keeps the garbage collector out of a big download.
 */
export async function downloadStream(
  session: SftpSession,
  remotePath: string,
  dest: Writable,
  signal?: AbortSignal,
  options: { reuseBuffers?: boolean } = {},
): Promise<number> {
  // A destination that fails (a full disk) never drains: stop then too.
  const destFailed = new AbortController();
  const onDestError = (error: Error) => destFailed.abort(error);
  dest.on('error', onDestError);
  const stop = AbortSignal.any([stopSignal(session, signal), destFailed.signal]);
  stop.throwIfAborted();
  const { sftp } = session;
  const handle = await session
    .call<Buffer>((cb) => sftp.open(remotePath, 'r', cb))
    .catch((error: unknown) => {
      dest.off('error', onDestError);
      throw error;
    });
  const requestSize = sftpRequestSize(session, 'read');
  const maxInFlight = requestsInFlight(requestSize);
  const spare: Buffer[] = [];
  /** The whole buffer a chunk was read into, when it may go back to `spare`. */
  const owners = new WeakMap<Buffer, Buffer>();
  try {
    const read = (at: number, length: number) =>
      session
        .call<Buffer>((cb) => {
          const pooled = options.reuseBuffers && length === requestSize;
          const buffer = (pooled ? spare.pop() : undefined) ?? Buffer.allocUnsafe(length);
          sftp.read(handle, buffer, 0, length, at, (error, bytesRead) => {
            const data = buffer.subarray(0, bytesRead);
            if (pooled) owners.set(data, buffer);
            cb(error === undefined || error === null ? undefined : error, data);
          });
        })
        .catch((error: { code?: unknown }) => {
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
      let data = await untilAborted(request.data, stop);
      let at = request.at + data.length;
      // A short read before the end of the request: read the rest of that range now.
      while (data.length > 0 && at < request.at + request.length && !eof) {
        const rest = await untilAborted(read(at, request.at + request.length - at), stop);
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
      const owner = owners.get(data);
      const written = owner
        ? dest.write(data, (error) => {
            if (!error) spare.push(owner);
          })
        : dest.write(data);
      if (!written) {
        await untilAborted(new Promise((resolve) => dest.once('drain', resolve)), stop);
      }
      fill();
    }
    return total;
  } catch (error) {
    throw session.lostSignal.aborted ? session.lostSignal.reason : error;
  } finally {
    dest.off('error', onDestError);
    await untilAborted(sftpCloseHandle(session, handle).catch(noAnswer), stop).catch(noAnswer);
  }
}
