import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createTestHost,
  describeInventoryConnector,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import {
  buildConnectorData,
  collectNamesData,
  InventoryError,
  type NamesData,
  parseConnectionString,
} from '@infra/core';
import { ConnectorResolver } from '@infra/core/resolver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  SSH_CONFIG_FILE_ENV,
  SSH_DATA_META,
  SshConfigInventoryConnector,
  SshConnector,
} from '../src/index.js';

const skip = peerMissing('sshd', sshdMissingReason());
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Resolve one yielded name as the CLI does (`@ssh:NAME` or a bare name), host data over its data. */
async function connectorFor(yielded: NamesData): Promise<SshConnector> {
  const [name, inventoryData] = yielded;
  const parsed = parseConnectionString(name);
  expect(parsed.connector).toBe('ssh');
  const [[, connectorData]] = (await collectNamesData(SshConnector, parsed.arg)) as [NamesData];
  const hostData = { ...inventoryData, ...connectorData };
  return new SshConnector(
    createTestHost({ name, data: buildConnectorData('ssh', SSH_DATA_META, hostData), hostData }),
  );
}

describe('@ssh-config:PATTERN patterns', () => {
  it('refuses bad patterns with an InventoryError that says what is expected', async () => {
    for (const bad of [undefined, '', ' ', 'web 1', 'web1,,web2', '!web1', '!a,!b', 'a/b', '"x"']) {
      const error = await collectNamesData(SshConfigInventoryConnector, bad).catch((e) => e);
      expect(error, String(bad)).toBeInstanceOf(InventoryError);
      expect((error as Error).message).toContain('expected @ssh-config:PATTERN');
    }
  });
});

describe.skipIf(skip !== undefined)('@ssh-config:PATTERN against a real sshd', () => {
  let sshd: SshdFixture;
  let config: string;
  const saved = process.env[SSH_CONFIG_FILE_ENV];

  beforeAll(async () => {
    sshd = await startSshd();
    const login = (user: string) => [
      '  HostName 127.0.0.1',
      `  Port ${sshd.port}`,
      `  User ${user}`,
      `  IdentityFile ${sshd.clientKey.privateKeyPath}`,
      `  UserKnownHostsFile ${sshd.knownHostsFile}`,
      '  StrictHostKeyChecking yes',
    ];
    const dir = join(sshd.dir, 'ssh-config');
    mkdirSync(join(dir, 'conf.d'), { recursive: true });
    writeFileSync(
      join(dir, 'conf.d', '10-web.conf'),
      ['Host web3', ...login(TEST_USERS.sudo.name), 'Host !web9 web?x', '  Port 1'].join('\n'),
    );
    writeFileSync(join(dir, 'conf.d', '20-db.conf'), ['Host db1', ...login('nobody')].join('\n'));
    config = join(dir, 'config');
    writeFileSync(
      config,
      [
        'Host web1 web2',
        ...login(TEST_USERS.plain.name),
        'Host *',
        '  ServerAliveInterval 10',
        `Include ${join(dir, 'conf.d', '*.conf')}`,
        // After every web host's own User: first value wins, so this one is never used.
        'Host web*',
        '  User never-used-first-value-wins',
        'Host cache1',
        '  HostName 127.0.0.1',
      ].join('\n'),
    );
    process.env[SSH_CONFIG_FILE_ENV] = config;
  });

  afterEach(() => {
    process.env[SSH_CONFIG_FILE_ENV] = config;
  });

  afterAll(async () => {
    if (saved === undefined) delete process.env[SSH_CONFIG_FILE_ENV];
    else process.env[SSH_CONFIG_FILE_ENV] = saved;
    await sshd?.dispose();
  });

  // The testkit's suite for inventory connectors: shape, no loops, bad patterns refused,
  // and every host of `web*` running a command through SshConnector.
  describeInventoryConnector({
    name: 'ssh-config (a config file with includes, loopback sshd)',
    connectorName: 'ssh-config',
    connectorClass: SshConfigInventoryConnector,
    cases: [{ arg: 'web*', names: ['@ssh:web1', '@ssh:web2', '@ssh:web3'], groups: ['web*'] }],
    invalid: [{ arg: '', message: /needs a pattern/ }],
    executingConnectors: { ssh: SshConnector },
  });

  it('yields the matching Host entries (Include followed, patterns skipped), grouped by the pattern', async () => {
    const web = await collectNamesData(SshConfigInventoryConnector, 'web*');
    expect(web).toEqual([
      ['@ssh:web1', { ssh_config_file: config }, ['web*']],
      ['@ssh:web2', { ssh_config_file: config }, ['web*']],
      ['@ssh:web3', { ssh_config_file: config }, ['web*']],
    ]);
    const some = await collectNamesData(SshConfigInventoryConnector, '*,!web2,!db?');
    expect(some.map(([name]) => name)).toEqual(['@ssh:web1', '@ssh:web3', '@ssh:cache1']);
    expect(some.every(([, , groups]) => groups[0] === '*,!web2,!db?')).toBe(true);
    expect(await collectNamesData(SshConfigInventoryConnector, 'nothing-*')).toEqual([]);
  });

  it('runs commands on what it yielded through SshConnector and the loopback sshd', async () => {
    const yielded = await collectNamesData(SshConfigInventoryConnector, 'web?');
    expect(yielded).toHaveLength(3);
    const users: string[] = [];
    for (const entry of yielded) {
      const connector = await connectorFor(entry);
      try {
        const result = await connector.runShellCommand('id -un');
        expect(result.success).toBe(true);
        users.push(result.output.stdout);
      } finally {
        await connector.disconnect();
      }
    }
    // Each host logged in as its own Host block's User.
    expect(users).toEqual([TEST_USERS.plain.name, TEST_USERS.plain.name, TEST_USERS.sudo.name]);
  });

  it('reads the ssh_config_file it is given over INFRA_SSH_CONFIG_FILE, and refuses one that is no path', async () => {
    process.env[SSH_CONFIG_FILE_ENV] = join(sshd.dir, 'no-such-config');
    const given = await collectNamesData(SshConfigInventoryConnector, 'db*', {
      data: { ssh_config_file: config },
    });
    expect(given).toEqual([['@ssh:db1', { ssh_config_file: config }, ['db*']]]);
    for (const bad of ['', 42]) {
      const error = await collectNamesData(SshConfigInventoryConnector, 'db*', {
        data: { ssh_config_file: bad },
      }).catch((e) => e);
      expect(error).toBeInstanceOf(InventoryError);
      expect((error as Error).message).toContain('ssh_config_file is');
    }
  });

  it('says which file it could not read', async () => {
    process.env[SSH_CONFIG_FILE_ENV] = join(sshd.dir, 'no-such-config');
    const error = await collectNamesData(SshConfigInventoryConnector, 'web*').catch((e) => e);
    expect(error).toBeInstanceOf(InventoryError);
    expect((error as Error).message).toContain(join(sshd.dir, 'no-such-config'));
  });

  it('is registered as "ssh-config" in package.json and loads as an inventory-only connector', async () => {
    const resolver = new ConnectorResolver({ projectDir: packageDir });
    const loaded = await resolver.load('ssh-config');
    expect(loaded.info.exportName).toBe('SshConfigInventoryConnector');
    expect(loaded.connectorClass.handlesExecution).toBe(false);
    expect((await collectNamesData(loaded.connectorClass, 'db1')).map(([n]) => n)).toEqual([
      '@ssh:db1',
    ]);
    const ssh = await resolver.load('ssh');
    expect(ssh.connectorClass.handlesExecution).toBe(true);
  });
});
