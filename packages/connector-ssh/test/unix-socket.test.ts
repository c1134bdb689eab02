import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshConnector } from '../src/index.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain.name;

/** Send `message`, end our side, and collect what comes back until the other side ends. */
async function roundTrip(stream: Duplex, message: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  stream.end(message);
  await ended;
  return Buffer.concat(chunks);
}

describe.skipIf(skip !== undefined)('SshConnector.openUnixSocket (direct-streamlocal)', () => {
  let sshd: SshdFixture;
  let noForwarding: SshdFixture;
  let dir: string;
  let server: Server;
  let socketPath: string;
  let connector: SshConnector;

  beforeAll(async () => {
    sshd = await startSshd();
    noForwarding = await startSshd({
      keysFrom: sshd,
      extraConfig: ['AllowStreamLocalForwarding no'],
    });
    // sshd connects to the socket as the user who logged in: the folder must be searchable.
    dir = await mkdtemp(join(tmpdir(), 'infra-unix-socket-'));
    await chmod(dir, 0o755);
    socketPath = join(dir, 'echo.sock');
    // An echo server that answers in upper case, so the test sees it is the server talking.
    server = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => socket.write(chunk.toString('latin1').toUpperCase()));
      socket.on('end', () => socket.end());
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    await chmod(socketPath, 0o666);
    connector = sshConnector(sshd, { user, name: 'web1' }).connector;
    await connector.connect();
  });

  afterAll(async () => {
    await connector?.disconnect();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
    await noForwarding?.dispose();
    await sshd?.dispose();
  });

  it('carries bytes both ways to a unix socket on the host, several streams at once', async () => {
    const streams = await Promise.all([1, 2, 3].map(() => connector.openUnixSocket(socketPath)));
    const answers = await Promise.all(
      streams.map((stream, i) => roundTrip(stream, Buffer.from(`hello ${i}`))),
    );
    expect(answers.map((answer) => answer.toString())).toEqual(['HELLO 0', 'HELLO 1', 'HELLO 2']);
  });

  it('is not limited by MaxSessions: forwarded channels are no sessions', async () => {
    const oneSession = await startSshd({ keysFrom: sshd, maxSessions: 1 });
    const narrow = sshConnector(oneSession, { user, data: { ssh_max_channels: 1 } }).connector;
    try {
      // A command holds the one session while four socket streams are open beside it.
      const holding = narrow.runShellCommand('sleep 1; echo held');
      const streams = await Promise.all([1, 2, 3, 4].map(() => narrow.openUnixSocket(socketPath)));
      const answers = await Promise.all(
        streams.map((stream) => roundTrip(stream, Buffer.from('x'))),
      );
      expect(answers.map(String)).toEqual(['X', 'X', 'X', 'X']);
      expect((await holding).output.stdout).toBe('held');
    } finally {
      await narrow.disconnect();
      await oneSession.dispose();
    }
  });

  it('connects on first use, as the other methods do', async () => {
    const fresh = sshConnector(sshd, { user }).connector;
    try {
      const stream = await fresh.openUnixSocket(socketPath);
      expect((await roundTrip(stream, Buffer.from('lazy'))).toString()).toBe('LAZY');
    } finally {
      await fresh.disconnect();
    }
  });

  it('refuses a missing socket with a ConnectError naming the host and the path', async () => {
    const missing = join(dir, 'missing.sock');
    const error = await errorOf(connector.openUnixSocket(missing));
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', host: 'web1' });
    expect(error.message).toContain('web1');
    expect(error.message).toContain(missing);
    expect(error.message).toMatch(
      /could not open the unix socket .* for infra-plain on infra-plain@127\.0\.0\.1:/,
    );
  });

  it('refuses a socket the user may not open', async () => {
    const privateDir = await mkdtemp(join(tmpdir(), 'infra-unix-private-'));
    const privateServer = createServer((socket) => socket.end());
    const privatePath = join(privateDir, 'root-only.sock');
    await new Promise<void>((resolve) => privateServer.listen(privatePath, resolve));
    try {
      const error = await errorOf(connector.openUnixSocket(privatePath));
      expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
      expect(error.message).toContain(privatePath);
    } finally {
      await new Promise((resolve) => privateServer.close(resolve));
      await rm(privateDir, { recursive: true, force: true });
    }
  });

  it('refuses when sshd does not allow stream-local forwarding, saying so', async () => {
    const refused = sshConnector(noForwarding, { user, name: 'locked' }).connector;
    try {
      const error = await errorOf(refused.openUnixSocket(socketPath));
      expect(error).toMatchObject({ code: 'CONNECT_FAILED', host: 'locked' });
      expect(error.message).toContain(socketPath);
      expect(error.message).toContain('AllowStreamLocalForwarding');
    } finally {
      await refused.disconnect();
    }
  });

  it('refuses a relative path before asking the server', async () => {
    const error = await errorOf(connector.openUnixSocket('docker.sock'));
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.message).toMatch(/"docker\.sock" is not absolute/);
  });

  it('rejects with the abort reason when the signal fires first', async () => {
    const controller = new AbortController();
    const reason = new Error('stop now');
    controller.abort(reason);
    await expect(connector.openUnixSocket(socketPath, { signal: controller.signal })).rejects.toBe(
      reason,
    );
  });
});
