import { connect, createServer, type Server, type Socket } from 'node:net';

/** A loopback TCP proxy in front of a server that drops its first connections, and counts them all. */
export interface DroppingProxy {
  readonly port: number;
  /** Connections accepted so far (dropped ones included). */
  readonly accepted: number;
  /** Connections dropped so far. */
  readonly dropped: number;
  /** Cut every connection now (the host's processes live on, as when a network link dies). */
  cut(): void;
  close(): Promise<void>;
}

/**
 * Accept on a free loopback port; drop (reset) the first `dropFirst` connections
 * the moment they arrive, as sshd does past `MaxStartups`; pipe the others to
 * `targetPort`.
 */
export async function startDroppingProxy(
  targetPort: number,
  dropFirst: number,
): Promise<DroppingProxy> {
  let accepted = 0;
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (dropped < dropFirst) {
      dropped++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    get accepted() {
      return accepted;
    },
    get dropped() {
      return dropped;
    },
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
