import { readFileSync } from 'node:fs';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DroppingProxy, startDroppingProxy } from './dropping-proxy.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain.name;

describe.skipIf(skip !== undefined)(
  'ssh handshakes: bounded, retried before authentication',
  () => {
    let sshd: SshdFixture;
    /** sshd that refuses every unauthenticated connection past the first two. */
    let strict: SshdFixture;

    beforeAll(async () => {
      sshd = await startSshd();
      strict = await startSshd({ keysFrom: sshd, maxStartups: '2:100:2' });
    });

    afterAll(async () => {
      await strict?.dispose();
      await sshd?.dispose();
    });

    const proxied = async (proxy: DroppingProxy, data: Record<string, unknown> = {}) => {
      const knownHosts = await sshd.writeKnownHosts(`known_hosts.${proxy.port}`, [
        `[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}`,
      ]);
      return sshConnector(sshd, {
        user,
        data: { ssh_port: proxy.port, ssh_known_hosts_file: knownHosts, ...data },
      });
    };

    it('connects through connections reset before the banner, without ssh_connect_retries', async () => {
      const proxy = await startDroppingProxy(sshd.port, 3);
      const { connector, log } = await proxied(proxy);
      try {
        expect((await connector.runShellCommand('echo through')).output.stdout).toBe('through');
        expect(proxy.dropped).toBe(3);
        expect(proxy.accepted).toBe(4);
        expect(log.messages.filter((m) => /before authentication/.test(m.message))).toHaveLength(3);
      } finally {
        await connector.disconnect();
        await proxy.close();
      }
    });

    it('never retries a refused login or a refused host key', async () => {
      const proxy = await startDroppingProxy(sshd.port, 2);
      try {
        const wrongKey = await proxied(proxy, { ssh_key: `${sshd.dir}/host_ed25519` });
        const loginError = await errorOf(wrongKey.connector.connect());
        expect(loginError.message).toContain('failed: tried publickey');
        // two dropped, then one login that was refused and not tried again
        expect(proxy.accepted).toBe(3);

        const otherKey = await sshd.writeKnownHosts('known_hosts.other', [
          `[127.0.0.1]:${proxy.port} ${strict.hostPublicKey.replace(/ \S+$/, ' AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl')}`,
        ]);
        const wrongHost = await proxied(proxy, { ssh_known_hosts_file: otherKey });
        const hostError = await errorOf(wrongHost.connector.connect());
        expect(hostError.message).toContain('CHANGED');
        expect(proxy.accepted).toBe(4);
      } finally {
        await proxy.close();
      }
    });

    it('brings 40 hosts at once through an sshd with MaxStartups 2:100:2 (it drops the rest)', async () => {
      const hosts = Array.from({ length: 40 }, (_, i) =>
        sshConnector(strict, { user, name: `host${i}` }),
      );
      try {
        const results = await Promise.allSettled(
          hosts.map(async ({ connector }) => (await connector.runShellCommand('echo ok')).output),
        );
        const failures = results.filter((r) => r.status === 'rejected');
        expect(failures).toEqual([]);
        expect(results).toHaveLength(40);
        // sshd did drop handshakes past its limit; the retries got every host in.
        const log = readFileSync(strict.logFile, 'utf8');
        expect(log).toMatch(/past MaxStartups/);
        const retried = hosts.flatMap(({ log: l }) =>
          l.messages.filter((m) => /before authentication/.test(m.message)),
        );
        expect(retried.length).toBeGreaterThan(0);
      } finally {
        await Promise.all(hosts.map(({ connector }) => connector.disconnect()));
      }
    });
  },
);
