import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestHost } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../src/index.js';

describe('LocalConnector.openUnixSocket', () => {
  let dir: string;
  let server: Server;
  let socketPath: string;
  const connector = new LocalConnector(createTestHost({ name: '@local', data: {} }));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-local-socket-'));
    socketPath = join(dir, 'echo.sock');
    server = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('carries bytes both ways to a unix socket on this machine', async () => {
    const stream = await connector.openUnixSocket(socketPath);
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => stream.once('end', resolve));
    stream.end('ping');
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('PING');
  });

  it('refuses a missing socket with a ConnectError naming the host and the path', async () => {
    const missing = join(dir, 'missing.sock');
    const error = await connector.openUnixSocket(missing).catch((caught: Error) => caught);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', host: '@local' });
    expect((error as Error).message).toContain(`${missing}: it does not exist (ENOENT)`);
  });

  it('rejects with the abort reason when the signal has fired', async () => {
    const reason = new Error('stopped');
    await expect(
      connector.openUnixSocket(socketPath, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason);
  });
});
