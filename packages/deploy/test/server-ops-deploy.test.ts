import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  debianImageMissingReason,
  freeLoopbackPort,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  useDockerd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction, RunEvent, RunHost } from '../src/index.js';
import { buildAppImage, startSystemdContainer } from './app-image.js';
import {
  containerExec,
  dockerHost,
  localHost,
  removeContainer,
  run,
  sshHost,
  startContainer,
  statuses,
} from './hosts.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const noSshd = peerMissing('sshd', sshdMissingReason());
const noDebian = noDockerd ?? debianImageMissingReason();

/** A SysV init script (LSB header for update-rc.d): a sleep with a pid file. */
const INIT_SCRIPT = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          infra-demo
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: infra demo
### END INIT INFO
PIDFILE=/tmp/infra-demo.pid
case "$1" in
  start) sleep 100000 >/dev/null 2>&1 & echo $! > "$PIDFILE" ;;
  stop) kill "$(cat "$PIDFILE")" && rm -f "$PIDFILE" ;;
  restart) "$0" stop; "$0" start ;;
  reload) kill -0 "$(cat "$PIDFILE")" ;;
  status) [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null ;;
  *) exit 3 ;;
esac
`;

/** Facts every target answers the same way; read in the execute pass only. */
function probeDeploy(root: string, seen: Record<string, unknown>): DeployFunction {
  return async ({ ops, facts, dry }) => {
    await ops.files.put({ src: Buffer.from('probe\n'), dest: `${root}/a/one.txt` });
    await ops.files.directory({ path: `${root}/a/b` });
    await ops.files.link({ path: `${root}/a/b/link`, target: '../one.txt' });
    if (dry) return;
    seen.distribution = await facts.server.linuxDistribution();
    seen.command = await facts.server.command('echo probed; echo to-stderr >&2');
    seen.sha256 = await facts.files.sha256(`${root}/a/one.txt`);
    seen.noSha = await facts.files.sha256(`${root}/a/missing`);
    seen.all = await facts.files.find(`${root}/a`);
    seen.files = await facts.files.find({ path: `${root}/a`, type: 'f' });
    seen.shallow = await facts.files.find({ path: root, maxDepth: 1, type: 'd' });
    seen.named = await facts.files.find({ path: `${root}/a`, name: '*.txt' });
    seen.none = await facts.files.find(`${root}/nowhere`);
  };
}

function expectProbe(root: string, seen: Record<string, unknown>, distributionId: string) {
  expect((seen.distribution as { id: string }).id).toBe(distributionId);
  expect(seen.command).toBe('probed');
  expect(seen.sha256).toBe(createHash('sha256').update('probe\n').digest('hex'));
  expect(seen.noSha).toBeNull();
  expect(seen.all).toEqual([`${root}/a`, `${root}/a/b`, `${root}/a/b/link`, `${root}/a/one.txt`]);
  expect(seen.files).toEqual([`${root}/a/one.txt`]);
  expect(seen.shallow).toEqual([root, `${root}/a`]);
  expect(seen.named).toEqual([`${root}/a/one.txt`]);
  expect(seen.none).toEqual([]);
}

/** A TCP server in this process that starts listening when server.wait's loop starts. */
async function waitTwice(host: () => RunHost) {
  const port = await freeLoopbackPort();
  const wait: DeployFunction = async ({ ops }) => {
    await ops.server.wait({ port, interval: 0.1, timeout: 30 });
  };
  const dry = await run(wait, [host()], { dry: true });
  expect(statuses(dry.planned)).toEqual(['server.wait:changed']);

  const server: Server = createServer();
  try {
    const first = await run(wait, [host()], {
      onEvent: (event: RunEvent) => {
        if (event.type === 'command' && event.operation === 'server.wait' && !server.listening) {
          server.listen(port, '127.0.0.1');
        }
      },
    });
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual(['server.wait:changed']);
    expect(server.listening).toBe(true);
    expect((await run(wait, [host()])).ending).toBe('nothing-to-do');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const timedOut = await run(
    async ({ ops }) => {
      await ops.server.wait({ port, interval: 0.1, timeout: 0.3 });
    },
    [host()],
  );
  expect(timedOut.failedHosts.get(host().name)?.message).toMatch(
    new RegExp(`port ${port} is not listening after 0\\.3s`),
  );
}

/** server.scriptTemplate twice (always a change: it runs a script); --dry runs nothing. */
async function scriptTemplateTwice(host: () => RunHost, out: string) {
  const fn: DeployFunction = async ({ ops }) => {
    await ops.server.scriptTemplate({
      template:
        'mkdir -p "$(dirname "$2")"\necho "<%= it.host.name %> <%= it.data.greeting %> $1" >> "$2"\n',
      args: ['run', out],
    });
  };
  const dry = await run(fn, [host()], { dry: true });
  expect(statuses(dry.planned)).toEqual(['server.scriptTemplate:changed']);
  for (let i = 0; i < 2; i++) {
    const outcome = await run(fn, [host()]);
    expect([...outcome.failedHosts.values()]).toEqual([]);
    expect(statuses(outcome.executed)).toEqual(['server.scriptTemplate:changed']);
  }
  let lines = '';
  await run(
    async ({ facts }) => {
      lines = await facts.server.command(`cat ${out}`);
    },
    [host()],
    { dry: true },
  );
  const name = host().name;
  expect(lines).toBe(`${name} hello run\n${name} hello run`);
}

describe('server operations and facts on @local', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-server-ops-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('facts: linuxDistribution, command, files.sha256, files.find', async () => {
    const seen: Record<string, unknown> = {};
    const outcome = await run(probeDeploy(dir, seen), [localHost('local')]);
    expect([...outcome.failedHosts.values()]).toEqual([]);
    const osRelease = await readFile('/etc/os-release', 'utf8');
    expectProbe(dir, seen, /^ID=(.*)$/m.exec(osRelease)?.[1]?.replace(/"/g, '') ?? '');
    // A probe is a fact: nothing in the results says it changed anything.
    expect(outcome.executed.map((r) => r.operation)).not.toContain('server.command');
  });

  it('server.wait waits for a port, then has nothing to do; times out naming the port', async () => {
    await waitTwice(() => localHost('local'));
  });

  it('server.packages: what this machine has installed is no change (nothing is installed here)', async () => {
    const installed = await run(
      async ({ ops }) => {
        await ops.server.packages({ packages: ['coreutils'] });
      },
      [localHost('local')],
    );
    expect([...installed.failedHosts.values()]).toEqual([]);
    expect(installed.ending).toBe('nothing-to-do');
  });

  it('server.scriptTemplate renders host data into a script and runs it (always a change)', async () => {
    const out = join(dir, 'script-out.txt');
    const template = join(dir, 'setup.sh.eta');
    await writeFile(template, 'echo "<%= it.host.name %> <%= it.data.greeting %> $1" > "$2"\n');
    const fn: DeployFunction = async ({ ops }) => {
      await ops.server.scriptTemplate({ src: template, args: ['it is me', out] });
    };
    const dry = await run(fn, [localHost('web1', { greeting: 'hello' })], { dry: true });
    expect(statuses(dry.planned)).toEqual(['server.scriptTemplate:changed']);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
    const first = await run(fn, [localHost('web1', { greeting: 'hello' })]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await readFile(out, 'utf8')).toBe('web1 hello it is me\n');
    // Nothing of the script is left in /tmp.
    const leftover = first.executed[0]?.commands[0]?.replace(/^upload /, '') ?? '';
    await expect(readFile(leftover)).rejects.toThrow(/ENOENT/);
  });
});

describe.skipIf(noSshd !== undefined)('server operations and facts on @ssh', () => {
  let sshd: SshdFixture;
  let root: string;
  beforeAll(async () => {
    sshd = await startSshd();
    // The sudo test user makes it; root only picks the name.
    root = `${await mkdtemp(join(tmpdir(), 'infra-server-ops-ssh-'))}-remote`;
  });
  afterAll(async () => {
    await sshd?.dispose();
    if (root) {
      await rm(root, { recursive: true, force: true });
      await rm(root.replace(/-remote$/, ''), { recursive: true, force: true });
    }
  });

  it('facts, twice and --dry', async () => {
    const seen: Record<string, unknown> = {};
    const fn = probeDeploy(root, seen);
    const dry = await run(fn, [sshHost(sshd, 'ssh1')], { dry: true });
    expect(dry.ending).toBe('dry');
    await expect(readFile(`${root}/a/one.txt`)).rejects.toThrow(/ENOENT/);
    const first = await run(fn, [sshHost(sshd, 'ssh1')]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expectProbe(root, seen, 'debian');
    expect((await run(fn, [sshHost(sshd, 'ssh1')])).ending).toBe('nothing-to-do');
  });

  it('server.wait', async () => {
    await waitTwice(() => sshHost(sshd, 'ssh1'));
  });

  it('server.scriptTemplate', async () => {
    await scriptTemplateTwice(
      () => sshHost(sshd, 'ssh1', { greeting: 'hello' }),
      `${root}/script.out`,
    );
  });
});

describe.skipIf(noDockerd !== undefined)('server operations and facts on busybox (@docker)', () => {
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'bb');
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

  it('facts: no os-release is null; busybox find and sha256sum', async () => {
    const seen: Record<string, unknown> = {};
    const outcome = await run(probeDeploy('/srv/probe', seen), [host()]);
    expect([...outcome.failedHosts.values()]).toEqual([]);
    expect(seen.distribution).toBeNull();
    expectProbe('/srv/probe', { ...seen, distribution: { id: 'none' } }, 'none');
  });

  it('server.service runs an /etc/init.d script through sysvinit, once; server.packages finds no manager', async () => {
    const fn =
      (args: Record<string, unknown>): DeployFunction =>
      async ({ ops }) => {
        await ops.files.put({
          src: Buffer.from(INIT_SCRIPT),
          dest: '/etc/init.d/infra-demo',
          mode: '755',
        });
        await ops.server.service({ service: 'infra-demo', ...args });
      };
    const dry = await run(fn({ running: true }), [host()], { dry: true });
    expect(dry.planned[1]?.commands).toEqual(['/etc/init.d/infra-demo start']);
    const first = await run(fn({ running: true }), [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual(['files.put:changed', 'server.service:changed']);
    expect(
      await containerExec(dockerd!, container, '/etc/init.d/infra-demo status && echo up'),
    ).toBe('up');
    expect((await run(fn({ running: true }), [host()])).ending).toBe('nothing-to-do');
    const pid = await containerExec(dockerd!, container, 'cat /tmp/infra-demo.pid');
    const restarted = await run(fn({ restarted: true }), [host()]);
    expect(restarted.executed[1]?.commands).toEqual(['/etc/init.d/infra-demo restart']);
    expect(await containerExec(dockerd!, container, 'cat /tmp/infra-demo.pid')).not.toBe(pid);
    // enabled needs update-rc.d or chkconfig: busybox has neither.
    const enable = await run(fn({ enabled: true }), [host()]);
    expect(enable.failedHosts.get('bb')?.message).toMatch(
      /enabled needs update-rc\.d or chkconfig on bb, and it has neither/,
    );
    const stop = fn({ running: false });
    expect(statuses((await run(stop, [host()])).executed)).toEqual([
      'files.put:no-change',
      'server.service:changed',
    ]);
    expect((await run(stop, [host()])).ending).toBe('nothing-to-do');

    const packages = await run(
      async ({ ops }) => {
        await ops.server.packages({ packages: ['curl'] });
      },
      [host()],
    );
    expect(packages.failedHosts.get('bb')?.message).toMatch(
      /no package manager found on bb: expected apk, apt-get or dnf/,
    );
  });

  it('server.scriptTemplate', async () => {
    await scriptTemplateTwice(
      () => dockerHost(dockerd!, container, { greeting: 'hello' }, 'bb'),
      '/tmp/script.out',
    );
  });

  it('server.wait for busybox httpd', async () => {
    const fn: DeployFunction = async ({ ops }) => {
      await ops.server.wait({ port: 8080, interval: 0.1, timeout: 10 });
    };
    expect(statuses((await run(fn, [host()], { dry: true })).planned)).toEqual([
      'server.wait:changed',
    ]);
    const first = await run(
      async (context) => {
        await context.ops.server.shell({ commands: 'httpd -p 8080 -h /tmp' });
        await fn(context, {});
      },
      [host()],
    );
    expect([...first.failedHosts.values()]).toEqual([]);
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
  });
});

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
