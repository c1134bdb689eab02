import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { useDockerd } from '@infra/connector-testkit';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerClient, dockerConnector } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();

/** The container's writable layer on the host, where its new files are (overlay2 or vfs). */
async function writableLayer(container: Docker.Container): Promise<string> {
  const info = (await container.inspect()) as unknown as {
    GraphDriver: { Name: string; Data: Record<string, string> | null };
    Id: string;
  };
  const data = info.GraphDriver.Data ?? {};
  const dir = data.UpperDir ?? data.Dir;
  if (!dir) throw new Error(`no writable layer path for driver ${info.GraphDriver.Name}`);
  return dir;
}

describe.skipIf(skip !== undefined)('docker put when the container stops mid-put', () => {
  let docker: Docker;
  let container: Docker.Container;

  beforeAll(async () => {
    docker = dockerClient(dockerd!);
    container = await docker.createContainer({
      Image: dockerd!.images.busybox,
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
  });

  afterAll(async () => {
    await container?.remove({ force: true }).catch(() => {});
  });

  it('fails the put, and the next put of that file removes the temp file it left', async () => {
    const layerTmp = join(await writableLayer(container), 'tmp');
    const temps = async () =>
      (await readdir(layerTmp).catch(() => [] as string[])).filter((n) => n.includes('.infra-'));
    const { connector } = dockerConnector(dockerd!, { docker_identifier: container.id });
    await connector.connect();
    await connector.putFile(Buffer.from('first'), '/tmp/big.bin'); // the rename loop runs
    // dockerd writes an upload itself, whatever the container does: freeze the
    // container, so that the rename (and the removal after it failed) cannot run in it.
    await container.pause();
    const error = await connector
      .putFile(Buffer.alloc(8 * 1024 * 1024, 1), '/tmp/big.bin', { timeout: 3 })
      .then(
        () => undefined,
        (failure: Error & { code?: string }) => failure,
      );
    expect(error?.code).toBe('FILE_TRANSFER_FAILED');
    await container.kill();
    await connector.disconnect();
    const [left] = await temps();
    expect(left).toMatch(/^\.big\.bin\.infra-[0-9a-f]{12}\.tmp$/);

    // Back up, a minute later (the temp's clock set back), the next put of the file sweeps it.
    await container.start();
    const { connector: again } = dockerConnector(dockerd!, { docker_identifier: container.id });
    await again.connect();
    try {
      await again.putFile(Buffer.from('fresh'), '/tmp/big.bin');
      expect(await temps()).toEqual([left]); // not yet: it might be another put's
      const aged = await again.runShellCommand(`touch -d '2000-01-01 00:00:00' /tmp/${left}`);
      expect(aged.success).toBe(true);
      await again.putFile(Buffer.from('again'), '/tmp/big.bin');
      expect(await temps()).toEqual([]);
      expect((await again.runShellCommand('cat /tmp/big.bin')).output.stdout).toBe('again');
    } finally {
      await again.disconnect();
    }
  });
});
