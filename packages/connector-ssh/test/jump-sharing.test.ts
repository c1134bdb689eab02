import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshConnector } from './ssh-host.js';
import { establishedSocketsTo } from './tcp-socket.js';

const skip = peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain.name;

/** Logins sshd accepted, from its VERBOSE log. */
const acceptedOn = (fixture: SshdFixture) =>
  readFileSync(fixture.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('Accepted publickey')).length;

/** Resolve once `check` holds, looking again after each turn of the event loop. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setImmediate(resolve));
}

describe.skipIf(skip !== undefined)('ssh jump hosts: one connection per bastion', () => {
  let target: SshdFixture;
  /** A bastion with OpenSSH's default MaxStartups, and MaxSessions 2. */
  let bastion: SshdFixture;
  let data: Record<string, unknown>;

  beforeAll(async () => {
    target = await startSshd({ maxSessions: 64 });
    bastion = await startSshd({ keysFrom: target, maxSessions: 2 });
    const config = join(target.dir, 'config.bastion');
    writeFileSync(
      config,
      [
        'Host bastion',
        '  HostName 127.0.0.1',
        `  Port ${bastion.port}`,
        `  User ${user}`,
        `  IdentityFile ${target.clientKey.privateKeyPath}`,
      ].join('\n'),
    );
    const knownHosts = await target.writeKnownHosts('known_hosts.both', [
      `[127.0.0.1]:${target.port} ${target.hostPublicKey}`,
      `[127.0.0.1]:${bastion.port} ${bastion.hostPublicKey}`,
    ]);
    data = { ssh_config_file: config, ssh_known_hosts_file: knownHosts, ssh_proxy_jump: 'bastion' };
  });

  afterAll(async () => {
    await bastion?.dispose();
    await target?.dispose();
  });

  const targets = (count: number, extra: Record<string, unknown> = {}) =>
    Array.from({ length: count }, (_, i) =>
      sshConnector(target, { user, name: `behind${i}`, data: { ...data, ...extra } }),
    );

  it('24 targets behind one bastion log in to it once, and the connection closes after the last', async () => {
    const hosts = targets(24);
    const before = acceptedOn(bastion);
    try {
      const names = await Promise.all(
        hosts.map(async ({ connector }, i) => {
          const result = await connector.runShellCommand(`echo ${i}; id -un`);
          return result.output.stdout;
        }),
      );
      expect(names).toEqual(hosts.map((_, i) => `${i}\n${user}`));
      expect(acceptedOn(bastion) - before).toBe(1);
      expect(establishedSocketsTo(bastion.port).size).toBe(1);
      // every target still works while the others disconnect, until the last is done
      for (const { connector } of hosts.slice(0, -1)) await connector.disconnect();
      expect(establishedSocketsTo(bastion.port).size).toBe(1);
      const last = hosts.at(-1)!.connector;
      expect((await last.runShellCommand('echo last')).output.stdout).toBe('last');
    } finally {
      await Promise.all(hosts.map(({ connector }) => connector.disconnect()));
    }
    await until(() => establishedSocketsTo(bastion.port).size === 0);
  });

  it('opens the channel to a target only once its handshake may start (the target counts it against MaxStartups)', async () => {
    // Refuses every unauthenticated connection past 12; 30 targets on it behind the bastion.
    const strict = await startSshd({ keysFrom: target, maxStartups: '12:100:12' });
    const knownHosts = await strict.writeKnownHosts('known_hosts.strict', [
      `[127.0.0.1]:${strict.port} ${strict.hostPublicKey}`,
      `[127.0.0.1]:${bastion.port} ${bastion.hostPublicKey}`,
    ]);
    const hosts = Array.from({ length: 30 }, (_, i) =>
      sshConnector(strict, {
        user,
        name: `strict${i}`,
        data: { ...data, ssh_known_hosts_file: knownHosts },
      }),
    );
    try {
      await Promise.all(hosts.map(({ connector }) => connector.runShellCommand('true')));
      // At most 8 handshakes to it at once: sshd sees a few more only while it has not yet
      // counted a finished login as such. With all 30 channels opened at once it dropped 25 here.
      const drops = readFileSync(strict.logFile, 'utf8').match(/past MaxStartups/g) ?? [];
      expect(drops.length).toBeLessThan(6);
    } finally {
      await Promise.all(hosts.map(({ connector }) => connector.disconnect()));
      await strict.dispose();
    }
  });

  it('fails every target behind a bastion that refuses the login, once, leaving no connection', async () => {
    const config = join(target.dir, 'config.bastion-wrong-key');
    writeFileSync(
      config,
      [
        'Host bastion',
        '  HostName 127.0.0.1',
        `  Port ${bastion.port}`,
        `  User ${user}`,
        `  IdentityFile ${target.dir}/host_ed25519`,
      ].join('\n'),
    );
    const hosts = targets(12, { ssh_config_file: config, ssh_allow_agent: false });
    const before = readFileSync(bastion.logFile, 'utf8').split('\n').length;
    const results = await Promise.allSettled(hosts.map(({ connector }) => connector.connect()));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const error = (result as PromiseRejectedResult).reason as Error & { code?: string };
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain(`login as ${user}@127.0.0.1:${bastion.port} failed`);
    }
    // the refused login was one handshake shared by the targets waiting for it, not one each
    const refused = readFileSync(bastion.logFile, 'utf8')
      .split('\n')
      .slice(before - 1)
      .filter((line) => line.includes('Connection from')).length;
    expect(refused).toBe(1);
    await until(() => establishedSocketsTo(bastion.port).size === 0);
  });

  it('opens another connection to the bastion once ssh_jump_max_channels are taken', async () => {
    const hosts = targets(10, { ssh_jump_max_channels: 4 });
    const before = acceptedOn(bastion);
    try {
      await Promise.all(hosts.map(({ connector }) => connector.runShellCommand('true')));
      expect(acceptedOn(bastion) - before).toBe(3);
      expect(establishedSocketsTo(bastion.port).size).toBe(3);
    } finally {
      await Promise.all(hosts.map(({ connector }) => connector.disconnect()));
    }
    await until(() => establishedSocketsTo(bastion.port).size === 0);
  });
});
