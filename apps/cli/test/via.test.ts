// Hosts that run through other hosts, through the real `infra` binary: @chroot with
// via=@ssh (the loopback sshd, root logging in with the fixture's key) into busybox roots.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type BusyboxRoot,
  busyboxRootMissingReason,
  makeBusyboxRoot,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInfra } from './infra-process.js';

const skip =
  peerMissing('chroot into a busybox root', busyboxRootMissingReason()) ??
  peerMissing('sshd', sshdMissingReason());

describe.skipIf(skip !== undefined)('infra @chroot:DIR --data via=@ssh:HOST', () => {
  let sshd: SshdFixture;
  let roots: BusyboxRoot[];
  let dir: string;
  /** The `--data` flags the ssh host needs: the fixture's port, key and known_hosts. */
  let sshData: string[];

  beforeAll(async () => {
    sshd = await startSshd({ rootLogin: true });
    roots = [await makeBusyboxRoot(), await makeBusyboxRoot()];
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-via-'));
    sshData = [
      ['ssh_port', sshd.port],
      ['ssh_key', sshd.clientKey.privateKeyPath],
      ['ssh_known_hosts_file', sshd.knownHostsFile],
      ['ssh_allow_agent', 'false'],
    ].flatMap(([key, value]) => ['--data', `${key}=${value}`]);
    await writeFile(
      join(dir, 'deploy.ts'),
      `import { deploy } from '@infra/deploy';\nexport default deploy(async ({ host, ops }) => {\n  await ops.files.directory({ path: '/srv/app', mode: '755' });\n  await ops.files.template({ template: 'host=<%= it.host.name %>\\n', dest: '/srv/app/app.conf' });\n});\n`,
    );
  });

  afterAll(async () => {
    await sshd?.dispose();
    for (const root of roots ?? []) await root.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** `Accepted publickey for root` lines in the sshd's log: one per connection. */
  const rootLogins = async () =>
    (await readFile(sshd.logFile, 'utf8'))
      .split('\n')
      .filter((line) => line.includes('Accepted publickey for root ')).length;

  it('deploys into the chroot on the ssh host, then finds nothing to do', async () => {
    const [root] = roots as [BusyboxRoot];
    const args = [`@chroot:${root.dir}`, '--data', 'via=@ssh:root@127.0.0.1', ...sshData];
    const first = await runInfra([...args, 'deploy.ts', '-y'], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(await readFile(join(root.dir, 'srv/app/app.conf'), 'utf8')).toBe(
      `host=@chroot:${root.dir}\n`,
    );
    const second = await runInfra([...args, 'deploy.ts', '-y'], { cwd: dir });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/nothing to do/i);
  });

  it('shares one ssh connection between the hosts riding on it', async () => {
    const before = await rootLogins();
    const result = await runInfra(
      [
        roots.map((root) => `@chroot:${root.dir}`).join(','),
        '--data',
        'via=@ssh:root@127.0.0.1',
        ...sshData,
        'exec',
        '--',
        'cat',
        '/etc/os-release',
      ],
      { cwd: dir },
    );
    expect(result.stderr).toBe('Summary: 2 hosts: 2 succeeded\n');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(
      roots.map((root) => `[@chroot:${root.dir}] NAME="infra busybox chroot"`).sort(),
    );
    expect((await rootLogins()) - before).toBe(1);
  });

  it('fails each rider of a via host that cannot connect, naming it', async () => {
    const result = await runInfra(
      [
        roots.map((root) => `@chroot:${root.dir}`).join(','),
        '--data',
        'via=@ssh:nobody@127.0.0.1',
        ...sshData,
        'exec',
        '--',
        'true',
      ],
      { cwd: dir },
    );
    expect(result.code).toBe(1);
    for (const root of roots) {
      expect(result.stderr).toContain(
        `Could not connect to @chroot:${root.dir}: it runs via @ssh:nobody@127.0.0.1, which could not connect`,
      );
    }
  });

  it('shows the chain in debug-inventory', async () => {
    const [root] = roots as [BusyboxRoot];
    const result = await runInfra(
      [`@chroot:${root.dir}`, '--data', 'via=@ssh:root@127.0.0.1', ...sshData, 'debug-inventory'],
      { cwd: dir },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).hosts[`@chroot:${root.dir}`]).toMatchObject({
      connector: 'chroot',
      chain: `@chroot:${root.dir} via @ssh:root@127.0.0.1`,
      data: { via: '@ssh:root@127.0.0.1', ssh_port: sshd.port },
    });
  });

  it('refuses a loop, naming the chain, before anything connects', async () => {
    const [root] = roots as [BusyboxRoot];
    const host = `@chroot:${root.dir}`;
    const result = await runInfra([host, '--data', `via=${host}`, 'exec', '--', 'true'], {
      cwd: dir,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `Host ${JSON.stringify(host)}: its via hosts loop: ${JSON.stringify(host)} -> ${JSON.stringify(host)}`,
    );
  });
});
