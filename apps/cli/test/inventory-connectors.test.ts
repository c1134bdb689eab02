// Inventory connectors through the real `infra` binary: hosts from an ssh config,
// resolved and run through the loopback sshd, as a user would type them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runInfra } from './infra-process.js';

const sshSkip = peerMissing('sshd', sshdMissingReason());

describe.skipIf(sshSkip !== undefined)('infra @ssh-config:PATTERN', () => {
  let sshd: SshdFixture;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    sshd = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-ssh-config-'));
    const login = (user: string) => [
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      `  User ${user}`,
      `  IdentityFile ${sshd.clientKey.privateKeyPath}`,
      `  UserKnownHostsFile ${sshd.knownHostsFile}`,
    ];
    await writeFile(
      join(dir, 'web.conf'),
      ['Host web2', ...login(TEST_USERS.sudo.name)].join('\n'),
    );
    await writeFile(
      join(dir, 'config'),
      [
        `Include ${join(dir, 'web.conf')}`,
        'Host web1',
        ...login(TEST_USERS.plain.name),
        'Host web*',
        '  ConnectTimeout 5',
        'Host db1',
        ...login('nobody'),
      ].join('\n'),
    );
    env = cleanEnv({ INFRA_SSH_CONFIG_FILE: join(dir, 'config') });
  });

  afterAll(async () => {
    await sshd?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a command on every matching Host entry, each as its own user', async () => {
    const result = await runInfra(['@ssh-config:web*', 'exec', '--', 'id', '-un'], {
      cwd: dir,
      env,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('Summary: 2 hosts: 2 succeeded\n');
    expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual([
      `[@ssh:web1] ${TEST_USERS.plain.name}`,
      `[@ssh:web2] ${TEST_USERS.sudo.name}`,
    ]);
  });

  it('shows in debug-inventory where each host came from, and its group', async () => {
    const result = await runInfra(['@ssh-config:web*', 'debug-inventory'], { cwd: dir, env });
    expect(result.code).toBe(0);
    const shown = JSON.parse(result.stdout);
    expect(shown.hosts['@ssh:web1']).toMatchObject({
      connector: 'ssh',
      via: ['@ssh-config:web*'],
      groups: ['web*'],
    });
    expect(shown.groups['web*'].sort()).toEqual(['@ssh:web1', '@ssh:web2']);
  });

  it('limits by the group the pattern made, and refuses a bad pattern with exit 2', async () => {
    const limited = await runInfra(
      ['@ssh-config:web*,@local', 'fact', 'server.os', '--limit', 'web*'],
      { cwd: dir, env },
    );
    expect(limited.code).toBe(0);
    expect(JSON.parse(limited.stdout)).toEqual({ '@ssh:web1': 'Linux', '@ssh:web2': 'Linux' });
    const bad = await runInfra(['@ssh-config:web 1', 'exec', '--', 'true'], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected @ssh-config:PATTERN');
  });

  describe('with ssh_config_file given, not INFRA_SSH_CONFIG_FILE', () => {
    // A home whose ~/.ssh/config names web1 on a port nothing listens on: reading it
    // instead of the file given would fail every host.
    let home: string;
    let homeEnv: NodeJS.ProcessEnv;

    beforeAll(async () => {
      home = join(dir, 'home');
      await mkdir(join(home, '.ssh'), { recursive: true });
      await writeFile(
        join(home, '.ssh', 'config'),
        ['Host web1 decoy1', '  HostName 127.0.0.1', '  Port 1'].join('\n'),
      );
      homeEnv = cleanEnv({ HOME: home });
      delete homeEnv.INFRA_SSH_CONFIG_FILE;
    });

    it('reads the file --data ssh_config_file names', async () => {
      const result = await runInfra(
        [
          '@ssh-config:web*',
          '--data',
          `ssh_config_file=${join(dir, 'config')}`,
          'exec',
          '--',
          'id',
          '-un',
        ],
        { cwd: dir, env: homeEnv },
      );
      expect(result.stderr).toBe('Summary: 2 hosts: 2 succeeded\n');
      expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual([
        `[@ssh:web1] ${TEST_USERS.plain.name}`,
        `[@ssh:web2] ${TEST_USERS.sudo.name}`,
      ]);
      expect(result.code).toBe(0);
    });

    it("reads the file an inventory file's group data names", async () => {
      await writeFile(
        join(dir, 'inventory.yaml'),
        [
          'groups:',
          '  servers:',
          "    hosts: ['@ssh-config:web1']",
          `    data: { ssh_config_file: ${JSON.stringify(join(dir, 'config'))} }`,
        ].join('\n'),
      );
      const result = await runInfra(['inventory.yaml', 'exec', '--', 'id', '-un'], {
        cwd: dir,
        env: homeEnv,
      });
      expect(result.stdout).toBe(`[@ssh:web1] ${TEST_USERS.plain.name}\n`);
      expect(result.code).toBe(0);
    });

    it('says what is wrong with an ssh_config_file that is no path', async () => {
      const result = await runInfra(
        ['@ssh-config:web*', '--data', 'ssh_config_file=', 'exec', '--', 'true'],
        { cwd: dir, env: homeEnv },
      );
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('ssh_config_file');
      expect(result.stderr).toContain('expected the path of an ssh_config file');
    });
  });

  it('an @ssh host reads INFRA_SSH_CONFIG_FILE too', async () => {
    const result = await runInfra(['@ssh:web1', 'exec', '--', 'id', '-un'], { cwd: dir, env });
    expect(result.stdout).toBe(`[web1] ${TEST_USERS.plain.name}\n`);
    expect(result.code).toBe(0);
  });
});
