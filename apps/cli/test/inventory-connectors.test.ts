// Inventory connectors through the real `infra` binary: hosts from an ssh config,
// resolved and run through the loopback sshd, as a user would type them.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
});
