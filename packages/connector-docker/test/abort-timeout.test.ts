import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_USERS, useDockerd } from '@infra/connector-testkit';
import { CommandTimeoutError, MaskString } from '@infra/core';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerConnector } from '../src/index.js';
import { dockerClient, dockerConnector, eventually } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();

async function stdoutOf(connector: DockerConnector, command: string): Promise<string> {
  return (await connector.runShellCommand(command)).output.stdout;
}

describe.skipIf(skip !== undefined)('docker file transfers: abort and timeout', () => {
  let docker: Docker;
  let container: Docker.Container;
  let connector: DockerConnector;
  let local: string;

  beforeAll(async () => {
    docker = dockerClient(dockerd!);
    container = await docker.createContainer({
      Image: dockerd!.images.busybox,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    ({ connector } = dockerConnector(dockerd!, { docker_identifier: container.id }));
    await connector.connect();
    local = await mkdtemp(join(tmpdir(), 'infra-docker-abort-'));
  });

  afterAll(async () => {
    await connector?.disconnect();
    await container?.remove({ force: true }).catch(() => {});
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('an aborted get as a become user rejects with signal.reason, kills the read and keeps the local file', async () => {
    await connector.runShellCommand('mkfifo -m 666 /tmp/abort.fifo');
    const dest = join(local, 'kept.txt');
    await writeFile(dest, 'old local content');
    const controller = new AbortController();
    const reason = new Error('stopped by the test');
    const getting = connector
      .getFile('/tmp/abort.fifo', dest, {
        suUser: TEST_USERS.plain.name,
        signal: controller.signal,
      })
      .catch((error: unknown) => error);
    const reading = async () =>
      (await stdoutOf(connector, "ps -o args | grep -c '^cat /tmp/abort[.]fifo' || true")) === '1';
    expect(await eventually(reading)).toBe(true);
    controller.abort(reason);
    expect(await getting).toBe(reason);
    expect(await readFile(dest, 'utf8')).toBe('old local content');
    expect(await readdir(local)).toEqual(['kept.txt']);
    expect(await reading()).toBe(false);
  });

  /** Stop (SIGSTOP) the loop that renames uploads into place: a put then waits there. */
  async function stopRenameHelper(): Promise<void> {
    const pids = await stdoutOf(
      connector,
      "ps -o pid,args | grep '[I]FS= read -r t' | awk '{print $1}'",
    );
    expect(pids).toMatch(/^\d+$/);
    expect((await connector.runShellCommand(`kill -STOP ${pids}`)).success).toBe(true);
  }

  const tempsIn = async (dir: string) =>
    (await stdoutOf(connector, `ls -a ${dir}`)).split('\n').filter((n) => n.includes('.infra-'));

  it('an aborted put rejects with signal.reason, kills the rename, keeps the old content and no temp file', async () => {
    await connector.runShellCommand('mkdir -p /srv/abort');
    await connector.putFile(Buffer.from('old\n'), '/srv/abort/f.txt');
    await stopRenameHelper();
    const controller = new AbortController();
    const reason = new Error('put stopped by the test');
    const putting = connector
      .putFile(Buffer.from('new\n'), '/srv/abort/f.txt', { signal: controller.signal })
      .catch((error: unknown) => error);
    // The upload is in, under its temp name: the put waits for the rename, or still for the
    // daemon's answer to the upload. Either way the abort kills the stopped loop.
    expect(await eventually(async () => (await tempsIn('/srv/abort')).length === 1)).toBe(true);
    controller.abort(reason);
    expect(await putting).toBe(reason);
    expect(await stdoutOf(connector, 'cat /srv/abort/f.txt')).toBe('old');
    expect(await tempsIn('/srv/abort')).toEqual([]);
    // The next put starts a new rename loop.
    await connector.putFile(Buffer.from('after\n'), '/srv/abort/f.txt');
    expect(await stdoutOf(connector, 'cat /srv/abort/f.txt')).toBe('after');
  });

  it('a put past its timeout fails saying so, caused by a CommandTimeoutError naming the put', async () => {
    await connector.runShellCommand('mkdir -p /srv/slow');
    await connector.putFile(Buffer.from('old\n'), '/srv/slow/f.txt');
    await stopRenameHelper();
    const error = await connector
      .putFile(Buffer.from('new\n'), '/srv/slow/f.txt', { timeout: 1 })
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({
      code: 'FILE_TRANSFER_FAILED',
      message: expect.stringMatching(/putFile .*\/srv\/slow\/f\.txt.* timed out after 1s/),
    });
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(CommandTimeoutError);
    expect((cause as CommandTimeoutError).message).toContain('/srv/slow/f.txt');
    expect(await stdoutOf(connector, 'cat /srv/slow/f.txt')).toBe('old');
    expect(await tempsIn('/srv/slow')).toEqual([]);
  });
});

describe.skipIf(skip !== undefined || dockerd?.images.busyboxSudo === undefined)(
  'docker become put: abort',
  () => {
    it('an aborted put as the sudo user rejects with signal.reason, keeps the old content and leaves no temp file', async () => {
      const controller = new AbortController();
      const reason = new Error('aborted while sudo asked for its password');
      // The run's password source: the caller aborts while sudo waits for the answer.
      const { connector } = dockerConnector(
        dockerd!,
        {
          docker_identifier: dockerd!.images.busyboxSudo,
          docker_commit: false,
          docker_user: TEST_USERS.sudoPassword.name,
        },
        {
          sudoPassword: {
            get: () => {
              controller.abort(reason);
              return Promise.resolve(new MaskString(TEST_USERS.sudoPassword.password));
            },
          },
        },
      );
      await connector.connect();
      try {
        const home = `/home/${TEST_USERS.sudoPassword.name}`;
        await connector.runShellCommand(`mkdir -p ${home} && echo old > ${home}/f.txt`);
        const error = await connector
          .putFile(Buffer.from('new\n'), `${home}/f.txt`, {
            sudo: true,
            signal: controller.signal,
          })
          .catch((failure: unknown) => failure);
        expect(error).toBe(reason);
        expect(await stdoutOf(connector, `cat ${home}/f.txt`)).toBe('old');
        expect(await stdoutOf(connector, `ls -a ${home}`)).not.toContain('.infra-');
      } finally {
        await connector.disconnect();
      }
    });
  },
);
