import {
  buildDebianImage,
  type DebianImage,
  debianImageMissingReason,
  useDockerd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerExec, dockerHost, removeContainer, run, startContainer } from './hosts.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason();

/** The same include list as debian-deploy.test.ts: the cached rootfs is reused. */
const INCLUDE = ['systemd', 'systemd-sysv', 'dnf', 'rpm', 'createrepo-c'];

describe.skipIf(skip !== undefined)('systemd.daemonReload, userMode, systemd.enabled', () => {
  let image: DebianImage;
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'systemd-scope');
  const sh = (command: string) => containerExec(dockerd!, container, command);

  beforeAll(async () => {
    image = await buildDebianImage(dockerd!, {
      include: INCLUDE,
      tag: 'infra-test/debian-systemd-scope:latest',
    });
    container = await startContainer(dockerd!, {
      Image: image.tag,
      Cmd: ['/sbin/init'],
      Env: ['container=docker'],
      HostConfig: {
        NetworkMode: 'none',
        Tmpfs: { '/run': '', '/run/lock': '', '/tmp': '' },
        Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro'],
      },
    });
    for (let i = 0; i < 100; i++) {
      const state = await sh('systemctl is-system-running');
      if (state === 'running' || state === 'degraded') return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('systemd did not reach running within 10 s');
  }, 300_000);
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  it('systemd.daemonReload always runs; systemd.enabled reads unit file states', async () => {
    const reload = await run(
      async ({ ops }) => void (await ops.systemd.daemonReload({})),
      [host()],
    );
    expect(reload.executed[0]?.commands).toEqual(['systemctl daemon-reload']);
    expect(reload.executed[0]?.status).toBe('changed');
    const facts = await run(
      async ({ facts, dry }) => {
        if (dry) return;
        const enabled = await facts.systemd.enabled();
        expect(enabled['getty@.service']).toBe(true);
        expect(enabled['systemd-networkd.service']).toBe(false);
      },
      [host()],
    );
    expect([...facts.failedHosts.values()]).toEqual([]);
  });

  it('systemd.service userMode asks the user manager (this image has no user D-Bus: the error says so)', async () => {
    // systemctl --user talks to the user's bus ($XDG_RUNTIME_DIR/bus), which needs
    // dbus-user-session; the cached minbase image has none (and no network to add it).
    const outcome = await run(
      async ({ ops }) => {
        await ops.systemd.service({ service: 'infra-user', userMode: true, running: true });
      },
      [host()],
    );
    expect(outcome.failedHosts.get('systemd-scope')?.message).toBe(
      'fact systemd.scopedUnits failed on systemd-scope: its command exited with 1: Failed to connect to bus: No such file or directory',
    );
  });
});
