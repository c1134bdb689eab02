import { debianImageMissingReason, useDockerd } from '@infra/connector-testkit';
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
import { expectProbe, INIT_SCRIPT, probeDeploy, scriptTemplateTwice } from './server-ops-common.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const noDebian = noDockerd ?? debianImageMissingReason();

describe.skipIf(noDebian !== undefined)('server.service and server.packages on Debian', () => {
  let plain: string;
  let booted: string;
  beforeAll(async () => {
    const image = await buildAppImage(dockerd!);
    // PID 1 is not systemd here: server.service falls back to /etc/init.d and update-rc.d.
    plain = await startContainer(dockerd!, {
      Image: image.tag,
      Cmd: ['sleep', '3600'],
      // The host's network reaches deb.debian.org (the fixture dockerd has no bridge).
      HostConfig: { NetworkMode: 'host' },
    });
    booted = await startSystemdContainer(dockerd!, image.tag);
  }, 300_000);
  afterAll(async () => {
    await removeContainer(dockerd!, plain);
    await removeContainer(dockerd!, booted);
  });

  it('server.scriptTemplate, twice', async () => {
    await scriptTemplateTwice(
      () => dockerHost(dockerd!, plain, { greeting: 'hello' }, 'debian-sysv'),
      '/srv/script/out.txt',
    );
  });

  it('sysvinit with update-rc.d when systemd is not running', async () => {
    const host = () => dockerHost(dockerd!, plain, {}, 'debian-sysv');
    const fn: DeployFunction = async ({ ops }) => {
      await ops.files.put({
        src: Buffer.from(INIT_SCRIPT),
        dest: '/etc/init.d/infra-demo',
        mode: '755',
      });
      await ops.server.service({ service: 'infra-demo', running: true, enabled: true });
    };
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(first.executed[1]?.commands).toEqual([
      '/etc/init.d/infra-demo start',
      'update-rc.d infra-demo defaults',
    ]);
    expect(await containerExec(dockerd!, plain, 'ls /etc/rc2.d | grep infra-demo')).toMatch(
      /^S\d\dinfra-demo$/,
    );
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
    const seen: Record<string, unknown> = {};
    await run(probeDeploy('/srv/probe', seen), [host()]);
    expectProbe('/srv/probe', seen, 'debian');
    expect(seen.distribution).toMatchObject({ version: '12', major: 12, codename: 'bookworm' });
  });

  it('server.packages installs with apt from the mirror, once, and removes', async () => {
    const host = () => dockerHost(dockerd!, plain, {}, 'debian-apt');
    const install: DeployFunction = async ({ ops }) => {
      await ops.server.packages({ packages: ['hello'], update: true });
    };
    const dry = await run(install, [host()], { dry: true });
    expect(dry.planned[0]?.commands.at(-1)).toMatch(/apt-get -y .* install hello$/);
    expect(await containerExec(dockerd!, plain, 'command -v hello || echo none')).toBe('none');
    const first = await run(install, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await containerExec(dockerd!, plain, 'hello')).toBe('Hello, world!');
    const again: DeployFunction = async ({ ops }) => {
      await ops.server.packages({ packages: ['hello'] });
    };
    expect((await run(again, [host()])).ending).toBe('nothing-to-do');
    const remove: DeployFunction = async ({ ops }) => {
      await ops.server.packages({ packages: ['hello'], present: false });
    };
    expect(statuses((await run(remove, [host()])).executed)).toEqual(['server.packages:changed']);
    expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
  }, 180_000);

  it('server.service goes through systemd when systemd is PID 1', async () => {
    const host = () => dockerHost(dockerd!, booted, {}, 'debian-systemd');
    const fn: DeployFunction = async ({ ops }) => {
      const unit = await ops.files.put({
        src: Buffer.from(
          '[Unit]\nDescription=infra demo\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n',
        ),
        dest: '/etc/systemd/system/infra-demo.service',
      });
      await ops.server.service({
        service: 'infra-demo',
        running: true,
        enabled: true,
        daemonReload: unit.changed,
      });
    };
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(first.executed[1]?.commands).toEqual([
      'systemctl daemon-reload',
      'systemctl start infra-demo.service',
      'systemctl enable infra-demo.service',
    ]);
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
  });
});

/** An OpenRC service script: a sleep openrc-run starts in the background with a pid file. */
const OPENRC_SCRIPT = `#!/sbin/openrc-run
description="infra demo"
command=/bin/sleep
command_args=100000
command_background=true
pidfile=/run/infra-demo.pid
`;

describe.skipIf(noDebian !== undefined)('server.service through OpenRC (Debian openrc)', () => {
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'debian-openrc');
  beforeAll(async () => {
    const image = await buildAppImage(dockerd!);
    container = await startContainer(dockerd!, {
      Image: image.tag,
      Cmd: ['sleep', '3600'],
      // The host's network reaches deb.debian.org (the fixture dockerd has no bridge).
      HostConfig: { NetworkMode: 'host' },
    });
    // OpenRC from Debian's mirror; the softlevel file says OpenRC manages services here
    // (no openrc as PID 1 in a container).
    const setup = await containerExec(
      dockerd!,
      container,
      'DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openrc >/dev/null 2>&1 && mkdir -p /run/openrc && touch /run/openrc/softlevel && echo ready',
    );
    if (!setup.endsWith('ready')) throw new Error(`openrc install failed: ${setup}`);
  }, 300_000);
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  it('starts and adds to the default runlevel once, restarts, stops and removes', async () => {
    const fn =
      (args: Record<string, unknown>): DeployFunction =>
      async ({ ops }) => {
        await ops.files.put({
          src: Buffer.from(OPENRC_SCRIPT),
          dest: '/etc/init.d/infra-demo',
          mode: '755',
        });
        await ops.server.service({ service: 'infra-demo', ...args });
      };
    const up = fn({ running: true, enabled: true });
    const dry = await run(up, [host()], { dry: true });
    expect(statuses(dry.planned)).toEqual(['files.put:changed', 'server.service:changed']);
    const first = await run(up, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(first.executed[1]?.commands).toEqual([
      'rc-service infra-demo start',
      'rc-update add infra-demo default',
    ]);
    expect(
      await containerExec(
        dockerd!,
        container,
        'rc-service infra-demo status >/dev/null && echo up; rc-update show default | grep -c infra-demo',
      ),
    ).toBe('up\n1');
    expect((await run(up, [host()])).ending).toBe('nothing-to-do');

    const pid = await containerExec(dockerd!, container, 'cat /run/infra-demo.pid');
    const restarted = await run(fn({ restarted: true }), [host()]);
    expect(restarted.executed[1]?.commands).toEqual(['rc-service infra-demo restart']);
    expect(await containerExec(dockerd!, container, 'cat /run/infra-demo.pid')).not.toBe(pid);

    const down = fn({ running: false, enabled: false });
    expect((await run(down, [host()])).executed[1]?.commands).toEqual([
      'rc-service infra-demo stop',
      'rc-update del infra-demo default',
    ]);
    expect((await run(down, [host()])).ending).toBe('nothing-to-do');
  }, 120_000);
});
