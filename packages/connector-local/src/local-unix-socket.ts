import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { ConnectError } from '@infra/core';

/** A stream to a unix socket on this machine (`net.connect`), for hosts that run through `@local`. */
export function connectUnixSocket(
  label: string,
  path: string,
  signal?: AbortSignal,
): Promise<Duplex> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<Duplex>((resolve, reject) => {
    const socket = connect({ path });
    const onAbort = () => {
      socket.destroy();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      const why =
        error.code === 'ENOENT'
          ? 'it does not exist'
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.code === 'ECONNREFUSED'
              ? 'nothing listens on it'
              : error.message;
      reject(
        new ConnectError(
          label,
          `cannot open the unix socket ${path}: ${why} (${error.code ?? 'error'}).`,
          {
            cause: error,
          },
        ),
      );
    });
  });
}
