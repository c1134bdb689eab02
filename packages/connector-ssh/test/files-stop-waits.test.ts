import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { CommandTimeoutError, sh } from '@infra/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SshConnector } from '../src/index.js';
import type { SshConnection } from '../src/ssh-connection.js';
import { childrenWithOpen, isRunning, sshdServing, waitFor } from './remote-processes.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain.name;

/** The connector's live connection (its channel limiter is what these tests watch). */
function connectionOf(connector: SshConnector): Promise<SshConnection> {
  return (connector as unknown as { connection(): Promise<SshConnection> }).connection();
}

function expectTimedOut(error: Error & { code?: string; cause?: unknown }, path: string): void {
  expect(error.code).toBe('FILE_TRANSFER_FAILED');
  expect(error.message).toContain(path);
  expect(error.message).toContain('timed out after');
  expect(error.cause).toBeInstanceOf(CommandTimeoutError);
}

const infraTemps = (dir: string) => readdirSync(dir).filter((name) => name.includes('.infra-'));

describe.skipIf(skip !== undefined)('ssh transfers and commands stopped while waiting', () => {
  let sshd: SshdFixture;
  let connector: SshConnector;
  let dir: string;

  beforeAll(async () => {
    sshd = await startSshd();
    // One channel: a command that runs holds it, everything else waits for it.
    connector = sshConnector(sshd, { user, data: { ssh_max_channels: 1 } }).connector;
    dir = (await connector.runShellCommand(sh`mktemp -d`)).output.stdout;
  });

  afterAll(async () => {
    if (dir) await connector.runShellCommand(sh`rm -rf ${dir}`);
    await connector?.disconnect();
    await sshd?.dispose();
  });

  /** Processes a test stopped (SIGSTOP): resumed after it whatever happened. */
  const stopped = new Set<number>();
  const stopProcess = (pid: number) => {
    stopped.add(pid);
    process.kill(pid, 'SIGSTOP');
  };
  const resumeProcess = (pid: number, signal: 'SIGCONT' | 'SIGKILL' = 'SIGCONT') => {
    stopped.delete(pid);
    process.kill(pid, signal);
  };
  afterEach(() => {
    for (const pid of stopped) resumeProcess(pid);
  });

  /** Run a command that holds the one channel until the returned `release()` aborts it. */
  async function holdTheChannel(): Promise<() => Promise<void>> {
    const marker = join(dir, `held-${Math.random().toString(16).slice(2)}`);
    const hold = new AbortController();
    const holding = connector
      .runShellCommand(sh`touch ${marker} && exec sleep 60`, { signal: hold.signal })
      .catch(() => undefined);
    await waitFor('the holding command to start', () => existsSync(marker));
    return async () => {
      hold.abort(new Error('released'));
      await holding;
    };
  }

  it('putFile and getFile with a timeout, waiting for a channel, fail on it; their place in the queue is not kept', async () => {
    const target = join(dir, 'queued.txt');
    await connector.putFile(Buffer.from('old'), target);
    const connection = await connectionOf(connector);
    const release = await holdTheChannel();
    try {
      expectTimedOut(
        await errorOf(connector.putFile(Buffer.from('new'), target, { timeout: 0.5 })),
        target,
      );
      const sink = new PassThrough();
      expectTimedOut(await errorOf(connector.getFile(target, sink, { timeout: 0.5 })), target);
      const local = join(dir, 'fetched.txt');
      expectTimedOut(await errorOf(connector.getFile(target, local, { timeout: 0.5 })), target);
      expect(existsSync(local)).toBe(false);
      // Nobody waits any more; the holder has the one slot.
      expect(connection.limiter.waiting).toBe(0);
      expect(connection.limiter.active).toBe(1);
    } finally {
      await release();
    }
    expect(readFileSync(target, 'utf8')).toBe('old');
    expect(infraTemps(dir)).toEqual([]);
    // The slot was not handed to a stopped waiter: the next put and command run.
    await connector.putFile(Buffer.from('next'), target);
    expect((await connector.runShellCommand(sh`cat ${target}`)).output.stdout).toBe('next');
  });

  it('an aborted putFile or getFile waiting for a channel rejects with the reason', async () => {
    const target = join(dir, 'aborted.txt');
    await connector.putFile(Buffer.from('kept'), target);
    const connection = await connectionOf(connector);
    const release = await holdTheChannel();
    try {
      const stop = new AbortController();
      const put = errorOf(connector.putFile(Buffer.from('never'), target, { signal: stop.signal }));
      await waitFor('the put to queue', () => connection.limiter.waiting === 1);
      const reason = new Error('put no longer wanted');
      stop.abort(reason);
      expect(await put).toBe(reason);

      const stopGet = new AbortController();
      const get = errorOf(connector.getFile(target, new PassThrough(), { signal: stopGet.signal }));
      await waitFor('the get to queue', () => connection.limiter.waiting === 1);
      const getReason = new Error('get no longer wanted');
      stopGet.abort(getReason);
      expect(await get).toBe(getReason);
      expect(connection.limiter.waiting).toBe(0);
    } finally {
      await release();
    }
    expect(readFileSync(target, 'utf8')).toBe('kept');
    expect(infraTemps(dir)).toEqual([]);
    expect((await connector.runShellCommand('echo ok')).output.stdout).toBe('ok');
  });

  it('a command with a timeout, or aborted, waiting for a channel, stops', async () => {
    const connection = await connectionOf(connector);
    const release = await holdTheChannel();
    try {
      const timedOut = await errorOf(
        connector.runShellCommand('echo queued', { timeout: 0.5, stdin: 'x' }),
      );
      expect(timedOut.code).toBe('COMMAND_TIMEOUT');
      expect(timedOut.message).toContain('echo queued');

      const stop = new AbortController();
      const aborted = errorOf(connector.runShellCommand('echo queued', { signal: stop.signal }));
      await waitFor('the command to queue', () => connection.limiter.waiting === 1);
      const reason = new Error('command no longer wanted');
      stop.abort(reason);
      expect(await aborted).toBe(reason);
      expect(connection.limiter.waiting).toBe(0);
    } finally {
      await release();
    }
    expect((await connector.runShellCommand('echo after')).output.stdout).toBe('after');
  });

  it('a command with a timeout stops waiting for a command session the server never starts', async () => {
    const { connector: fresh } = sshConnector(sshd, { user });
    try {
      // On an exec channel (a terminal): no command session is opened yet.
      const where = await fresh.runShellCommand('echo $SSH_CONNECTION', { getPty: true });
      const serving = sshdServing(sshd.port, Number(where.output.stdout.split(' ')[1]));
      expect(serving.length).toBeGreaterThan(0);
      for (const pid of serving) stopProcess(pid);
      try {
        const error = await errorOf(fresh.runShellCommand('echo hi', { timeout: 0.5 }));
        expect(error.code).toBe('COMMAND_TIMEOUT');
      } finally {
        for (const pid of serving) resumeProcess(pid);
      }
      expect((await fresh.runShellCommand('echo again')).output.stdout).toBe('again');
    } finally {
      await fresh.disconnect();
    }
  });

  it('a put, get or command with a timeout stops waiting for a channel the server never opens', async () => {
    const { connector: fresh } = sshConnector(sshd, { user });
    const target = join(dir, 'unopened.txt');
    try {
      await fresh.putFile(Buffer.from('old'), target);
      const where = await fresh.runShellCommand('echo $SSH_CONNECTION', { getPty: true });
      const serving = sshdServing(sshd.port, Number(where.output.stdout.split(' ')[1]));
      const connection = await connectionOf(fresh);
      for (const pid of serving) stopProcess(pid);
      try {
        expectTimedOut(
          await errorOf(fresh.putFile(Buffer.from('new'), target, { timeout: 0.5 })),
          target,
        );
        expectTimedOut(
          await errorOf(fresh.getFile(target, new PassThrough(), { timeout: 0.5 })),
          target,
        );
        const command = await errorOf(
          fresh.runShellCommand('echo late', { timeout: 0.5, stdin: 'x' }),
        );
        expect(command.code).toBe('COMMAND_TIMEOUT');
      } finally {
        for (const pid of serving) resumeProcess(pid);
      }
      // The channels the server opens late are closed again: their slots come back.
      await waitFor('the late channels to close', () => connection.limiter.active === 0);
      expect(readFileSync(target, 'utf8')).toBe('old');
      expect((await fresh.runShellCommand('echo again')).output.stdout).toBe('again');
      await fresh.putFile(Buffer.from('new'), target);
      expect(readFileSync(target, 'utf8')).toBe('new');
    } finally {
      await fresh.disconnect();
    }
  });

  describe('an SFTP server that stops answering after the upload', () => {
    /**
     * Start a put of a stream, and once its bytes are in the temp file, stop
     * (SIGSTOP) the SFTP server process writing it and end the stream: every
     * request after the upload (close, stat, mode, rename, cleanup) goes unanswered.
     */
    async function putToStalledServer(
      target: string,
      options: { timeout?: number; signal?: AbortSignal },
    ): Promise<{ put: Promise<Error & { code?: string }>; server: number; temp: string }> {
      // SSH_CONNECTION: client address and port, server address and port.
      const [, clientPort] = (
        await connector.runShellCommand('echo $SSH_CONNECTION')
      ).output.stdout.split(' ');
      const serving = sshdServing(sshd.port, Number(clientPort));
      const source = new PassThrough();
      const put = errorOf(connector.putFile(source, target, options));
      const bytes = Buffer.alloc(64 * 1024, 'n');
      source.write(bytes);
      const temp = await waitFor('the upload to reach the temp file', () =>
        infraTemps(dir)
          .map((name) => join(dir, name))
          .find((path) => statSync(path, { throwIfNoEntry: false })?.size === bytes.length),
      );
      const [server] = await waitFor('the SFTP server writing it', () => {
        const found = serving.flatMap((parent) => childrenWithOpen(parent, temp));
        return found.length === 1 && found;
      });
      stopProcess(server!);
      source.end();
      return { put, server: server!, temp };
    }

    it('a put with a timeout fails on it, keeps the old content, and the next put removes its temp file', async () => {
      const target = join(dir, 'stalled.txt');
      await connector.putFile(Buffer.from('old'), target);
      const { put, server, temp } = await putToStalledServer(target, { timeout: 3 });
      try {
        expectTimedOut(await put, target);
        expect(readFileSync(target, 'utf8')).toBe('old');
      } finally {
        // The server never answers the cleanup: it dies with the request unread.
        resumeProcess(server, 'SIGKILL');
      }
      await waitFor('the stopped SFTP server to end', () => !isRunning(server));
      expect(existsSync(temp)).toBe(true);
      // The next put of this connector removes it (README: "a stalled SFTP server").
      await connector.putFile(Buffer.from('next'), target);
      expect(readFileSync(target, 'utf8')).toBe('next');
      expect(infraTemps(dir)).toEqual([]);
    });

    it('an aborted put rejects with the reason; after the server resumes, the next put leaves no temp file', async () => {
      const target = join(dir, 'stalled-aborted.txt');
      await connector.putFile(Buffer.from('old'), target);
      const stop = new AbortController();
      const { put, server } = await putToStalledServer(target, { signal: stop.signal });
      const reason = new Error('no longer wanted');
      try {
        stop.abort(reason);
        expect(await put).toBe(reason);
        expect(readFileSync(target, 'utf8')).toBe('old');
      } finally {
        resumeProcess(server);
      }
      // Unanswered in 2 s: the resumed server may or may not still carry out the removal
      // (its session was ended meanwhile); the next put removes the temp file either way.
      expect(readFileSync(target, 'utf8')).toBe('old');
      await connector.putFile(Buffer.from('next'), target);
      expect(readFileSync(target, 'utf8')).toBe('next');
      expect(infraTemps(dir)).toEqual([]);
    });
  });
});

describe.skipIf(skip !== undefined)('ssh transfers stopped while connecting', () => {
  let sshd: SshdFixture;
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    sshd = await startSshd();
    // Takes connections and never says a word: a connect hangs until ssh_connect_timeout.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    if (silent?.listening) await new Promise((resolve) => silent.close(resolve));
    await sshd?.dispose();
  });

  it('disconnect while connecting does not wait for the connect: it fails, and nothing is kept open', async () => {
    const port = (silent.address() as { port: number }).port;
    const { connector } = sshConnector(sshd, {
      user,
      // Longer than the test may run: a disconnect that waited would time the test out.
      data: { ssh_port: port, ssh_connect_timeout: 120, ssh_connect_retries: 3 },
    });
    const connecting = errorOf(connector.connect());
    await waitFor('the connect to reach the server', () => sockets.size > 0);
    await connector.disconnect();
    const error = await connecting;
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(error.message).toContain('disconnected while connecting');
    // The attempt still going ends when the server drops it; nothing retries it.
    for (const socket of sockets) socket.destroy();
    await waitFor('the dropped attempt to close', () => sockets.size === 0);
    // A connect after the disconnect is a new attempt, and a disconnect ends it the same way.
    const again = errorOf(connector.connect());
    await waitFor('a new attempt', () => sockets.size > 0);
    await connector.disconnect();
    expect(await again).toMatchObject({ code: 'CONNECT_FAILED' });
    for (const socket of sockets) socket.destroy();
  });

  it('a put, get or command with a timeout stops waiting for the connection', async () => {
    const port = (silent.address() as { port: number }).port;
    const { connector } = sshConnector(sshd, {
      user,
      data: { ssh_port: port, ssh_connect_timeout: 50, ssh_connect_retries: 0 },
    });
    try {
      expectTimedOut(
        await errorOf(connector.putFile(Buffer.from('x'), '/tmp/never.txt', { timeout: 0.5 })),
        '/tmp/never.txt',
      );
      expectTimedOut(
        await errorOf(connector.getFile('/etc/hostname', new Writable(), { timeout: 0.5 })),
        '/etc/hostname',
      );
      const command = await errorOf(connector.runShellCommand('echo hi', { timeout: 0.5 }));
      expect(command.code).toBe('COMMAND_TIMEOUT');
      const stop = new AbortController();
      const reason = new Error('not waiting');
      const aborted = errorOf(
        connector.putFile(Buffer.from('x'), '/tmp/n', { signal: stop.signal }),
      );
      stop.abort(reason);
      expect(await aborted).toBe(reason);
    } finally {
      // The connect still going (for nobody now) fails at once: nothing listens any more.
      const closed = new Promise((resolve) => silent.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
      await connector.disconnect();
    }
  });
});
