import { useDockerd } from '@infra/connector-testkit';
import { CommandTimeoutError } from '@infra/core';
import type Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DockerConnector } from '../src/index.js';
import { dockerClient, dockerConnector, eventually } from './docker-test-host.js';
import { type HoldingProxy, startHoldingProxy } from './holding-proxy.js';

const { dockerd, skip } = await useDockerd();

/** The daemon's answers the tests hold back (the request goes through: the daemon does the work). */
const UPLOAD = /^PUT \S+\/archive\?/;
const STAT = /^HEAD \S+\/archive\?/;
const LOOP_START = /^POST \S+\/exec [\s\S]*IFS= read -r t/;

/**
 * A put stopped (aborted, or past its timeout) in each of its phases, with the
 * daemon reached through a relay that holds back its answer to the phase's
 * request: the put settles at once, leaves no temp file and the old content,
 * and the next put works.
 */
describe.skipIf(skip !== undefined)('docker put: stopped in each phase', () => {
  let docker: Docker;
  let container: Docker.Container;
  let proxy: HoldingProxy;
  let connector: DockerConnector;

  beforeAll(async () => {
    docker = dockerClient(dockerd!);
    container = await docker.createContainer({
      Image: dockerd!.images.busybox,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    proxy = await startHoldingProxy(dockerd!.socketPath);
  });

  afterEach(async () => {
    proxy.release();
    await connector?.disconnect();
  });

  afterAll(async () => {
    await container?.remove({ force: true }).catch(() => {});
    await proxy?.close();
  });

  async function connected(): Promise<DockerConnector> {
    ({ connector } = dockerConnector(dockerd!, {
      docker_identifier: container.id,
      docker_host: proxy.host,
    }));
    await connector.connect();
    return connector;
  }

  const stdoutOf = async (command: string) =>
    (await connector.runShellCommand(command)).output.stdout;
  const tempsIn = async (dir: string) =>
    (await stdoutOf(`ls -a ${dir}`)).split('\n').filter((n) => n.includes('.infra-'));
  /** The pids of the rename loop (the shell running `IFS= read -r t`). */
  const loopPids = async () =>
    (await stdoutOf("ps -o pid,args | grep '[I]FS= read -r t' | awk '{print $1}'"))
      .split('\n')
      .filter((pid) => pid !== '');

  it('a put aborted after its upload is in but before the daemon says so rejects with signal.reason, kills the stopped rename loop, and the next put works', async () => {
    await connected();
    await connector.runShellCommand('mkdir -p /srv/upload && echo old > /srv/upload/f.txt');
    await connector.putFile(Buffer.from('first\n'), '/srv/upload/f.txt');
    const [loop] = await loopPids();
    // The loop cannot rename: a put that reached it would wait there.
    expect((await connector.runShellCommand(`kill -STOP ${loop}`)).success).toBe(true);
    proxy.hold(UPLOAD);
    const controller = new AbortController();
    const reason = new Error('put stopped while the daemon had not answered its upload');
    const putting = connector
      .putFile(Buffer.from('new\n'), '/srv/upload/f.txt', { signal: controller.signal })
      .catch((error: unknown) => error);
    // The temp file is in and the daemon has answered, but the put has not heard it.
    expect(
      await eventually(
        async () => proxy.held.length === 1 && (await tempsIn('/srv/upload')).length === 1,
      ),
    ).toBe(true);
    controller.abort(reason);
    expect(await putting).toBe(reason);
    expect(await stdoutOf('cat /srv/upload/f.txt')).toBe('first');
    expect(await tempsIn('/srv/upload')).toEqual([]);
    // No rename loop is left stopped in the container.
    expect(await loopPids()).toEqual([]);
    proxy.release();
    await connector.putFile(Buffer.from('after\n'), '/srv/upload/f.txt', { timeout: 20 });
    expect(await stdoutOf('cat /srv/upload/f.txt')).toBe('after');
    expect(await loopPids()).toHaveLength(1);
  });

  it('a put the daemon does not answer about its target fails after its timeout, and an aborted one with signal.reason', async () => {
    await connected();
    await connector.runShellCommand('mkdir -p /srv/stat && echo old > /srv/stat/f.txt');
    proxy.hold(STAT);
    const error = await connector
      .putFile(Buffer.from('new\n'), '/srv/stat/f.txt', { timeout: 1 })
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({
      code: 'FILE_TRANSFER_FAILED',
      message: expect.stringMatching(/putFile .*\/srv\/stat\/f\.txt.* timed out after 1s/),
    });
    expect((error as Error).cause).toBeInstanceOf(CommandTimeoutError);

    const controller = new AbortController();
    const reason = new Error('put stopped while the daemon looked at its target');
    const held = proxy.held.length;
    const putting = connector
      .putFile(Buffer.from('new\n'), '/srv/stat/f.txt', { signal: controller.signal })
      .catch((failure: unknown) => failure);
    expect(await eventually(async () => proxy.held.length > held)).toBe(true);
    controller.abort(reason);
    expect(await putting).toBe(reason);
    proxy.release();
    expect(await stdoutOf('cat /srv/stat/f.txt')).toBe('old');
    expect(await tempsIn('/srv/stat')).toEqual([]);
    await connector.putFile(Buffer.from('after\n'), '/srv/stat/f.txt', { timeout: 20 });
    expect(await stdoutOf('cat /srv/stat/f.txt')).toBe('after');
  });

  it('a put waiting for its rename loop to start fails after its timeout, and the next put works', async () => {
    await connected();
    await connector.runShellCommand('mkdir -p /srv/start && echo old > /srv/start/f.txt');
    proxy.hold(LOOP_START);
    const error = await connector
      .putFile(Buffer.from('new\n'), '/srv/start/f.txt', { timeout: 1 })
      .catch((failure: unknown) => failure);
    expect(proxy.held).toHaveLength(1);
    expect(error).toMatchObject({
      code: 'FILE_TRANSFER_FAILED',
      message: expect.stringMatching(/putFile .*\/srv\/start\/f\.txt.* timed out after 1s/),
    });
    expect((error as Error).cause).toBeInstanceOf(CommandTimeoutError);
    proxy.release();
    expect(await stdoutOf('cat /srv/start/f.txt')).toBe('old');
    expect(await tempsIn('/srv/start')).toEqual([]);
    await connector.putFile(Buffer.from('after\n'), '/srv/start/f.txt', { timeout: 20 });
    expect(await stdoutOf('cat /srv/start/f.txt')).toBe('after');
    expect(await loopPids()).toHaveLength(1);
  });

  it('a rename loop stopped when the connection closes is killed, not left stopped in the container', async () => {
    await connected();
    await connector.putFile(Buffer.from('first\n'), '/tmp/close-idle.txt');
    const [loop] = await loopPids();
    expect((await connector.runShellCommand(`kill -STOP ${loop}`)).success).toBe(true);
    await connector.disconnect();
    await connected();
    expect(await loopPids()).toEqual([]);
  });

  it('a put waiting on a stopped rename loop when the connection closes fails, and no loop or temp file is left', async () => {
    await connected();
    await connector.runShellCommand('mkdir -p /srv/close && echo old > /srv/close/f.txt');
    await connector.putFile(Buffer.from('first\n'), '/srv/close/f.txt');
    const [loop] = await loopPids();
    expect((await connector.runShellCommand(`kill -STOP ${loop}`)).success).toBe(true);
    const putting = connector
      .putFile(Buffer.from('new\n'), '/srv/close/f.txt')
      .catch((error: unknown) => error);
    expect(await eventually(async () => (await tempsIn('/srv/close')).length === 1)).toBe(true);
    await connector.disconnect();
    expect(await putting).toMatchObject({
      code: 'FILE_TRANSFER_FAILED',
      message: expect.stringContaining('the rename helper was closed'),
    });
    await connected();
    expect(await loopPids()).toEqual([]);
    expect(await tempsIn('/srv/close')).toEqual([]);
    expect(await stdoutOf('cat /srv/close/f.txt')).toBe('first');
  });
});
