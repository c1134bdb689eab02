import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  useDockerd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
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
import {
  expectProbe,
  INIT_SCRIPT,
  probeDeploy,
  scriptTemplateTwice,
  waitTwice,
} from './server-ops-common.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const noSshd = peerMissing('sshd', sshdMissingReason());

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

  it('server.packages: an installed package is no change (nothing is installed on this machine)', async () => {
    const fn: DeployFunction = async ({ ops }) => {
      await ops.server.packages({ packages: ['coreutils'], _sudo: true });
    };
    const outcome = await run(fn, [sshHost(sshd, 'ssh1')]);
    expect([...outcome.failedHosts.values()]).toEqual([]);
    expect(outcome.ending).toBe('nothing-to-do');
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
