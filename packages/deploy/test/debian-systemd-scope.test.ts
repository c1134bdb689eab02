import { debianImageMissingReason, useDockerd } from '@infra/connector-testkit';
import { describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { useDebianContainer } from './debian-container.js';
import { run, statuses } from './hosts.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason();

// biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JavaScript's.
const USER_SYSTEMCTL = 'XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}" systemctl --user';

const UNIT =
  '[Unit]\nDescription=infra user demo\n\n[Service]\nExecStart=/bin/sleep infinity\n\n[Install]\nWantedBy=default.target\n';

describe.skipIf(skip !== undefined)('systemd.daemonReload, userMode, systemd.enabled', () => {
  const { host, sh } = useDebianContainer(dockerd, {
    name: 'systemd-scope',
    spec: {
      Cmd: ['/sbin/init'],
      Env: ['container=docker'],
      HostConfig: {
        // Host networking, for the user D-Bus from the Debian mirror (the container
        // has no CAP_NET_ADMIN: systemd cannot change the host's network).
        NetworkMode: 'host',
        // user-runtime-dir@.service mounts a tmpfs on /run/user/UID.
        CapAdd: ['SYS_ADMIN'],
        SecurityOpt: ['apparmor=unconfined', 'seccomp=unconfined'],
        Tmpfs: { '/run': '', '/run/lock': '', '/tmp': '' },
        Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro'],
      },
    },
    ready: async (sh) => {
      for (let i = 0; i < 100; i++) {
        const state = await sh('systemctl is-system-running');
        if (state === 'running' || state === 'degraded') return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('systemd did not reach running within 10 s');
    },
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

  it("systemd.service userMode starts and enables a unit in root's user manager, twice", async () => {
    const setup = await run(
      async ({ ops }) => {
        // The system bus (user-runtime-dir@ needs it) and the user bus systemctl --user talks to.
        await ops.apt.packages({
          packages: ['dbus', 'dbus-user-session'],
          update: true,
          noRecommends: true,
        });
        await ops.systemd.service({ service: 'dbus', running: true });
        await ops.server.shell({ commands: 'systemctl start user@0.service' });
      },
      [host()],
    );
    expect([...setup.failedHosts.values()]).toEqual([]);
    const fn: DeployFunction = async ({ ops }) => {
      const unit = await ops.files.put({
        src: Buffer.from(UNIT),
        dest: '/etc/systemd/user/infra-user.service',
      });
      await ops.systemd.service({
        service: 'infra-user',
        userMode: true,
        running: true,
        enabled: true,
        daemonReload: unit.changed,
      });
    };
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(first.executed[1]?.commands).toEqual([
      `${USER_SYSTEMCTL} daemon-reload`,
      `${USER_SYSTEMCTL} start infra-user.service`,
      `${USER_SYSTEMCTL} enable infra-user.service`,
    ]);
    expect(
      await sh(
        'export XDG_RUNTIME_DIR=/run/user/0; systemctl --user is-active infra-user; systemctl --user is-enabled infra-user',
      ),
    ).toBe('active\nenabled');
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
    const stop: DeployFunction = async ({ ops }) => {
      await ops.systemd.service({
        service: 'infra-user',
        userMode: true,
        running: false,
        enabled: false,
      });
    };
    expect(statuses((await run(stop, [host()])).executed)).toEqual(['systemd.service:changed']);
    expect((await run(stop, [host()])).ending).toBe('nothing-to-do');
  }, 180_000);
});
