import { debianImageMissingReason, dockerApi, useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { buildAppImage, startSystemdContainer } from './app-image.js';
import {
  containerExec,
  dockerHost,
  removeContainer,
  run,
  startContainer,
  statuses,
} from './hosts.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason();

async function state(
  id: string,
): Promise<{ startedAt: string; restarts: number; running: boolean }> {
  const inspect = await dockerApi(dockerd!.socketPath, 'GET', `/containers/${id}/json`);
  const info = inspect.json as {
    State: { StartedAt: string; Running: boolean };
    RestartCount: number;
  };
  return {
    startedAt: info.State.StartedAt,
    restarts: info.RestartCount,
    running: info.State.Running,
  };
}

/**
 * server.reboot against a container that really restarts: systemd is PID 1, `reboot`
 * makes it exit (reboot(2) in a PID namespace ends its init), and docker's restart
 * policy starts the same container again; infra reconnects through the same
 * @docker connector and goes on with the next operation.
 */
describe.skipIf(skip !== undefined)(
  'server.reboot on a systemd container with a restart policy',
  () => {
    let container: string;
    const host = () => dockerHost(dockerd!, container, {}, 'rebooted');

    beforeAll(async () => {
      const image = await buildAppImage(dockerd!);
      container = await startSystemdContainer(dockerd!, image.tag, {
        RestartPolicy: { Name: 'always' },
      });
    }, 300_000);
    afterAll(async () => {
      await removeContainer(dockerd!, container);
    });

    const reboot: DeployFunction = async ({ ops }) => {
      await ops.server.reboot({ delay: 0, interval: 0.2, rebootTimeout: 60 });
      await ops.server.shell({ commands: 'cat /proc/1/comm' });
    };

    it('--dry reboots nothing; a run reboots, reconnects and runs the next operation', async () => {
      const before = await state(container);
      const dry = await run(reboot, [host()], { dry: true });
      expect(statuses(dry.planned)).toEqual(['server.reboot:changed', 'server.shell:changed']);
      expect(dry.planned[0]?.commands).toEqual([
        'reboot and reconnect (delay 0s, every 0.2s, within 60s)',
      ]);
      expect(await state(container)).toEqual(before);

      const outcome = await run(reboot, [host()]);
      expect([...outcome.failedHosts.values()]).toEqual([]);
      expect(statuses(outcome.executed)).toEqual(['server.reboot:changed', 'server.shell:changed']);
      // The operation after the reboot ran in the restarted container, on systemd again.
      expect(outcome.executed[1]?.stdout).toBe('systemd');
      const after = await state(container);
      expect(after.restarts).toBe(before.restarts + 1);
      expect(after.startedAt).not.toBe(before.startedAt);
      expect(after.running).toBe(true);
    }, 120_000);

    it('names the failure when reboot itself fails', async () => {
      const outcome = await run(
        async ({ ops }) => {
          // As a user who may not reboot: reboot fails at once, with its own message.
          await ops.server.reboot({ delay: 0, _suUser: 'nobody', _suShell: '/bin/sh' });
        },
        [host()],
      );
      expect(outcome.failedHosts.get('rebooted')?.message).toMatch(
        /^server\.reboot failed on rebooted: reboot exited with 1: .*\(does it need _sudo\?\)$/s,
      );
    }, 60_000);
  },
);

describe.skipIf(noDockerd !== undefined)('server.reboot on a host that does not reboot', () => {
  let container: string;

  beforeAll(async () => {
    container = await startContainer(dockerd!, {
      Image: dockerd!.images.busybox,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'none' },
    });
  });
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  it('gives up after rebootTimeout, saying the host still runs its old boot', async () => {
    await containerExec(
      dockerd!,
      container,
      "mkdir -p /fake-bin && printf '#!/bin/sh\\nexit 0\\n' > /fake-bin/reboot && chmod 755 /fake-bin/reboot",
    );
    const outcome = await run(
      async ({ ops }) => {
        // A reboot that succeeds and does nothing: PID 1 never changes.
        await ops.server.reboot({
          delay: 0,
          interval: 0.1,
          rebootTimeout: 0.5,
          _env: { PATH: '/fake-bin:/bin' },
        });
      },
      [dockerHost(dockerd!, container, {}, 'stuck')],
    );
    expect(outcome.failedHosts.get('stuck')?.message).toBe(
      'server.reboot failed on stuck: the host did not come back within rebootTimeout 0.5s (last attempt: the host still runs the boot it had before the reboot)',
    );
  });
});
