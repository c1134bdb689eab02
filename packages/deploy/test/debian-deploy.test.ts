import {
  buildDebianImage,
  type DebianImage,
  debianImageMissingReason,
  useDockerd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { DEBIAN_INCLUDE } from './debian-container.js';
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

/**
 * A Debian bookworm minbase with systemd, and Debian's dnf, rpm (with rpmbuild) and
 * createrepo_c for the dnf tests: one debootstrap, cached (see the fixture).
 */
let image: DebianImage;

beforeAll(async () => {
  if (skip === undefined) {
    image = await buildDebianImage(dockerd!, {
      include: DEBIAN_INCLUDE,
    });
  }
}, 300_000);

describe.skipIf(skip !== undefined)('apt and shadow users on a Debian container', () => {
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'debian');

  beforeAll(async () => {
    // Network mode host: the fixture dockerd has no bridge (--bridge=none), and the
    // host's network reaches deb.debian.org, so apt inside talks to the real mirror.
    container = await startContainer(dockerd!, {
      Image: image.tag,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'host' },
    });
  });
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  it('apt.packages installs hello from the mirror once, then has nothing to do', async () => {
    const install: DeployFunction = async ({ ops }) => {
      await ops.apt.packages({
        packages: ['hello'],
        update: true,
        cacheTime: 3600,
        noRecommends: true,
      });
    };
    const dry = await run(install, [host()], { dry: true });
    expect(statuses(dry.planned)).toEqual(['apt.packages:changed']);
    expect(dry.planned[0]?.commands).toEqual([
      'DEBIAN_FRONTEND=noninteractive apt-get update && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp',
      'DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --no-install-recommends hello',
    ]);
    expect(await containerExec(dockerd!, container, 'command -v hello || echo none')).toBe('none');

    const first = await run(install, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual(['apt.packages:changed']);
    expect(await containerExec(dockerd!, container, 'hello')).toBe('Hello, world!');

    const second = await run(install, [host()]);
    expect(second.ending).toBe('nothing-to-do');

    // latest: the candidate is what is installed, so still nothing to do.
    const latest = await run(
      async ({ ops, facts, dry }) => {
        await ops.apt.packages({ packages: 'hello', latest: true });
        if (!dry) expect((await facts.apt.packages()).hello).toEqual(['2.10-3']);
      },
      [host()],
    );
    expect(latest.ending).toBe('nothing-to-do');

    const remove: DeployFunction = async ({ ops }) => {
      await ops.apt.packages({ packages: ['hello'], present: false, purge: true });
    };
    expect(statuses((await run(remove, [host()])).executed)).toEqual(['apt.packages:changed']);
    expect(await containerExec(dockerd!, container, 'command -v hello || echo none')).toBe('none');
    expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
  }, 180_000);

  it('server.group and server.user with useradd/usermod/userdel, twice', async () => {
    const fn =
      (shell: string): DeployFunction =>
      async ({ ops }) => {
        await ops.server.group({ group: 'infra-ops', gid: 2500 });
        await ops.server.group({ group: 'infra-web', system: true });
        await ops.server.user({
          user: 'infra-app',
          uid: 2501,
          group: 'infra-ops',
          groups: ['infra-web'],
          home: '/home/infra-app',
          shell,
          comment: 'App user',
        });
      };
    const first = await run(fn('/bin/sh'), [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual([
      'server.group:changed',
      'server.group:changed',
      'server.user:changed',
    ]);
    const web = await containerExec(dockerd!, container, 'getent group infra-web | cut -d: -f3');
    expect(Number(web)).toBeLessThan(1000); // a system group
    expect(
      await containerExec(
        dockerd!,
        container,
        'id infra-app; getent passwd infra-app; ls -d /home/infra-app',
      ),
    ).toBe(
      `uid=2501(infra-app) gid=2500(infra-ops) groups=2500(infra-ops),${web}(infra-web)\ninfra-app:x:2501:2500:App user:/home/infra-app:/bin/sh\n/home/infra-app`,
    );
    expect((await run(fn('/bin/sh'), [host()])).ending).toBe('nothing-to-do');

    const changed = await run(fn('/bin/bash'), [host()]);
    expect(changed.executed.find((r) => r.operation === 'server.user')?.commands).toEqual([
      'usermod -s /bin/bash infra-app',
    ]);
    expect(await containerExec(dockerd!, container, 'getent passwd infra-app | cut -d: -f7')).toBe(
      '/bin/bash',
    );

    const remove: DeployFunction = async ({ ops }) => {
      await ops.server.user({ user: 'infra-app', present: false, removeHome: true });
      await ops.server.group({ group: 'infra-ops', present: false });
      await ops.server.group({ group: 'infra-web', present: false });
    };
    expect(statuses((await run(remove, [host()])).executed)).toEqual([
      'server.user:changed',
      'server.group:changed',
      'server.group:changed',
    ]);
    expect(await containerExec(dockerd!, container, 'id infra-app 2>&1; ls /home')).toBe(
      "id: 'infra-app': no such user",
    );
    expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
  });
});

describe.skipIf(skip !== undefined)('systemd as PID 1 in a Debian container', () => {
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'systemd');

  beforeAll(async () => {
    // Not privileged (runc cannot apply the full capability set here); the cgroup v1
    // hierarchy read-only and tmpfs on /run are what systemd needs.
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
      const state = await containerExec(dockerd!, container, 'systemctl is-system-running');
      if (state === 'running' || state === 'degraded') return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('systemd did not reach running within 10 s');
  });
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  const UNIT =
    '[Unit]\nDescription=infra demo\n\n[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n';

  it('systemd.service starts and enables a unit once, restarts on demand, stops', async () => {
    const fn =
      (args: Record<string, unknown>): DeployFunction =>
      async ({ ops }) => {
        const unit = await ops.files.put({
          src: Buffer.from(UNIT),
          dest: '/etc/systemd/system/infra-demo.service',
        });
        await ops.systemd.service({ service: 'infra-demo', daemonReload: unit.changed, ...args });
      };
    const first = await run(fn({ running: true, enabled: true }), [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(first.executed[1]?.commands).toEqual([
      'systemctl daemon-reload',
      'systemctl start infra-demo.service',
      'systemctl enable infra-demo.service',
    ]);
    expect(
      await containerExec(
        dockerd!,
        container,
        'systemctl is-active infra-demo; systemctl is-enabled infra-demo',
      ),
    ).toBe('active\nenabled');
    const before = await containerExec(
      dockerd!,
      container,
      'systemctl show -p MainPID --value infra-demo',
    );

    const second = await run(fn({ running: true, enabled: true }), [host()]);
    expect(second.ending).toBe('nothing-to-do');

    const units = await run(
      async ({ facts, dry }) => {
        if (dry) return;
        const all = await facts.systemd.units();
        expect(all['infra-demo.service']).toEqual({
          load: 'loaded',
          active: 'active',
          sub: 'running',
          unitFileState: 'enabled',
        });
      },
      [host()],
    );
    expect(units.failedHosts.size).toBe(0);

    const restarted = await run(fn({ restarted: true }), [host()]);
    expect(statuses(restarted.executed)).toEqual([
      'files.put:no-change',
      'systemd.service:changed',
    ]);
    const after = await containerExec(
      dockerd!,
      container,
      'systemctl show -p MainPID --value infra-demo',
    );
    expect(after).not.toBe(before);

    const stop = fn({ running: false, enabled: false });
    expect(statuses((await run(stop, [host()])).executed)).toEqual([
      'files.put:no-change',
      'systemd.service:changed',
    ]);
    expect(
      await containerExec(
        dockerd!,
        container,
        'systemctl is-active infra-demo; systemctl is-enabled infra-demo',
      ),
    ).toBe('inactive\ndisabled');
    expect((await run(stop, [host()])).ending).toBe('nothing-to-do');
  });

  it('names a unit that does not exist', async () => {
    const outcome = await run(
      async ({ ops }) => {
        await ops.systemd.service({ service: 'no-such-unit', running: true });
      },
      [host()],
    );
    // The plan pass cannot know (an earlier operation might install it); the execute pass says so.
    expect(outcome.failedHosts.get('systemd')?.message).toMatch(
      /no-such-unit\.service is not a unit systemd knows on systemd/,
    );
  });
});

const RPM_SPEC = `Name: infra-demo
Version: 1.0
Release: 1
Summary: infra test package
License: MIT
BuildArch: noarch
%description
A file for the dnf.packages test.
%install
mkdir -p %{buildroot}/usr/share/infra-demo
echo hello > %{buildroot}/usr/share/infra-demo/hello.txt
%files
/usr/share/infra-demo/hello.txt
`;

describe.skipIf(skip !== undefined)('dnf.packages with a local rpm repository (Debian dnf)', () => {
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'dnf');

  beforeAll(async () => {
    container = await startContainer(dockerd!, {
      Image: image.tag,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'none' },
    });
    // The repository is set up by hand, so the test sees dnf.packages alone.
    const setup = await containerExec(
      dockerd!,
      container,
      [
        'mkdir -p /root/rpmbuild/SPECS /srv/repo /etc/yum.repos.d',
        `printf '%s' '${RPM_SPEC}' > /root/rpmbuild/SPECS/infra-demo.spec`,
        'rpmbuild -bb /root/rpmbuild/SPECS/infra-demo.spec > /tmp/rpmbuild.log 2>&1',
        'cp /root/rpmbuild/RPMS/noarch/*.rpm /srv/repo/',
        'createrepo_c -q /srv/repo',
        `printf '[infra-local]\\nname=infra local\\nbaseurl=file:///srv/repo\\ngpgcheck=0\\nenabled=1\\n' > /etc/yum.repos.d/infra-local.repo`,
        'echo ready',
      ].join(' && '),
    );
    if (!setup.endsWith('ready')) throw new Error(`rpm repository setup failed: ${setup}`);
  }, 300_000);
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  it('installs from the repository once, then has nothing to do; removes likewise', async () => {
    const install: DeployFunction = async ({ ops }) => {
      await ops.dnf.packages({ packages: ['infra-demo'], update: false });
    };
    const dry = await run(install, [host()], { dry: true });
    expect(dry.planned[0]?.commands).toEqual(['dnf -y install infra-demo']);
    expect(await containerExec(dockerd!, container, 'rpm -q infra-demo || true')).toBe(
      'package infra-demo is not installed',
    );
    const first = await run(install, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual(['dnf.packages:changed']);
    expect(await containerExec(dockerd!, container, 'cat /usr/share/infra-demo/hello.txt')).toBe(
      'hello',
    );
    const second = await run(
      async ({ ops, facts, dry }) => {
        await ops.dnf.packages({ packages: ['infra-demo-1.0-1'], latest: true });
        if (!dry) expect((await facts.dnf.packages())['infra-demo']).toEqual(['1.0-1']);
      },
      [host()],
    );
    expect(second.ending).toBe('nothing-to-do');

    const remove: DeployFunction = async ({ ops }) => {
      await ops.dnf.packages({ packages: 'infra-demo', present: false });
    };
    expect(statuses((await run(remove, [host()])).executed)).toEqual(['dnf.packages:changed']);
    expect(await containerExec(dockerd!, container, 'rpm -q infra-demo || true')).toBe(
      'package infra-demo is not installed',
    );
    expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
  }, 120_000);
});
