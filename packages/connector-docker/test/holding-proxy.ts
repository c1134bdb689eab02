import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A unix-socket relay in front of a real daemon that can hold back chosen answers. */
export interface HoldingProxy {
  /** `unix://<socket>`, for docker_host. */
  readonly host: string;
  /**
   * From now on, hold back the daemon's answer to every request whose bytes so far
   * (request line, headers, body) match `pattern`; the request itself goes through.
   */
  hold(pattern: RegExp): void;
  /** The requests held since the last release (their request lines). */
  readonly held: readonly string[];
  /** Stop holding: pass on what was held and everything after. */
  release(): void;
  close(): Promise<void>;
}

/** What a request looks like at its start: `METHOD /path HTTP/1.1`. */
const REQUEST_LINE = /^(GET|HEAD|POST|PUT|DELETE) \S+ HTTP\/1\.1\r\n/;

/**
 * Relay each connection on a unix socket of its own to `socketPath` (the real
 * daemon), byte for byte, until told to hold: then the daemon's answers to the
 * matching requests wait in the relay, as behind a stalled link, while the
 * daemon has done the work.
 */
export async function startHoldingProxy(socketPath: string): Promise<HoldingProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-docker-proxy-'));
  const path = join(dir, 'docker.sock');
  let pattern: RegExp | undefined;
  const held: string[] = [];
  const releases = new Set<() => void>();
  const sockets = new Set<Socket>();

  // Half-open both ways: an exec's stdin ends (FIN) long before its output does.
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ path: socketPath, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    // The bytes of the request being sent on this connection, and whether its answer waits.
    let request = '';
    let holding = false;
    let waiting: Buffer[] = [];
    let upstreamEnded = false;
    const release = () => {
      holding = false;
      for (const chunk of waiting) client.write(chunk);
      waiting = [];
      if (upstreamEnded) client.end();
    };
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (REQUEST_LINE.test(text)) request = text.slice(0, 4096);
      else if (request.length < 4096) request += text.slice(0, 4096 - request.length);
      if (!holding && pattern?.test(request)) {
        holding = true;
        held.push(request.slice(0, request.indexOf('\r\n')));
        releases.add(release);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (holding) waiting.push(chunk);
      else client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => {
      upstreamEnded = true;
      if (!holding) client.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return {
    host: `unix://${path}`,
    hold: (next) => {
      pattern = next;
    },
    held,
    release: () => {
      pattern = undefined;
      held.length = 0;
      for (const release of releases) release();
      releases.clear();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
