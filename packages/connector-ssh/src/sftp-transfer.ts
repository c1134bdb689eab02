import type { Readable, Writable } from 'node:stream';
import type { SFTPWrapper, Stats } from 'ssh2';

/** Requests kept in flight at once: SFTP is request/response, so one at a time is slow. */
const IN_FLIGHT = 32;
/** Bytes per READ request (OpenSSH's sftp-server answers up to 256 KiB). */
const READ_CHUNK = 64 * 1024;
/** Largest WRITE request; bigger source chunks are split. */
const WRITE_CHUNK = 64 * 1024;

function call<T>(
  run: (callback: (error: Error | null | undefined, value: T) => void) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    run((error, value) => (error ? reject(error) : resolve(value)));
  });
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
 * Write a stream to a new remote file (`wx`: never an existing one), with up to
 * IN_FLIGHT WRITE requests outstanding. Resolves with the bytes written.
 */
export async function uploadStream(
  sftp: SFTPWrapper,
  source: Readable,
  remotePath: string,
  mode: number,
): Promise<number> {
  const handle = await call<Buffer>((cb) => sftp.open(remotePath, 'wx', { mode }, cb));
  let position = 0;
  const pending = new Set<Promise<void>>();
  let failure: Error | undefined;
  const send = (chunk: Buffer, at: number) => {
    const request = call<void>((cb) =>
      sftp.write(handle, chunk, 0, chunk.length, at, (error) => cb(error, undefined)),
    ).then(
      () => {
        pending.delete(request);
      },
      (error: Error) => {
        pending.delete(request);
        failure ??= error;
      },
    );
    pending.add(request);
  };
  try {
    for await (const data of source) {
      const chunk = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      for (let offset = 0; offset < chunk.length; offset += WRITE_CHUNK) {
        const piece = chunk.subarray(offset, Math.min(chunk.length, offset + WRITE_CHUNK));
        while (pending.size >= IN_FLIGHT) await Promise.race(pending);
        if (failure) throw failure;
        send(piece, position);
        position += piece.length;
      }
    }
    await Promise.all(pending);
    if (failure) throw failure;
  } finally {
    await Promise.allSettled(pending);
    await call<void>((cb) => sftp.close(handle, (error) => cb(error, undefined))).catch(() => {});
  }
  return position;
}

/**
 * Read a remote file into a writable stream in order, with up to IN_FLIGHT READ
 * requests outstanding. Resolves with the bytes read.
 */
export async function downloadStream(
  sftp: SFTPWrapper,
  remotePath: string,
  dest: Writable,
): Promise<number> {
  const handle = await call<Buffer>((cb) => sftp.open(remotePath, 'r', cb));
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
      while (!eof && queue.length < IN_FLIGHT) {
        const request = { at: next, length: READ_CHUNK, data: read(next, READ_CHUNK) };
        request.data.catch(() => {}); // awaited in order below
        queue.push(request);
        next += READ_CHUNK;
      }
    };
    fill();
    while (queue.length > 0) {
      const request = queue.shift()!;
      let data = await request.data;
      let at = request.at + data.length;
      // A short read before the end of the request: read the rest of that range now.
      while (data.length > 0 && at < request.at + request.length && !eof) {
        const rest = await read(at, request.at + request.length - at);
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
      if (!dest.write(data)) await new Promise((resolve) => dest.once('drain', resolve));
      fill();
    }
    return total;
  } finally {
    await call<void>((cb) => sftp.close(handle, (error) => cb(error, undefined))).catch(() => {});
  }
}
