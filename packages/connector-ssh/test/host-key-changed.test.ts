import { readFile } from 'node:fs/promises';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain;

describe.skipIf(skip !== undefined)(
  'a changed host key under ssh_strict_host_key_checking: no (sshd restarted with a new key)',
  () => {
    let sshd: SshdFixture;
    let replaced: { hostPublicKey: string; hostFingerprint: string };

    beforeAll(async () => {
      sshd = await startSshd();
      // known_hosts keeps the old key; the server now shows another one.
      replaced = await sshd.replaceHostKey();
    });

    afterAll(async () => {
      await sshd?.dispose();
    });

    /** The password logins sshd has seen for the user (accepted or failed). */
    const passwordLogins = async () =>
      (await readFile(sshd.logFile, 'utf8'))
        .split('\n')
        .filter((line) => /(Accepted|Failed) (password|keyboard-interactive)/.test(line))
        .filter((line) => line.includes(user.name));

    it('warns naming both fingerprints, and never sends the password', async () => {
      const before = await passwordLogins();
      const { connector, log } = sshConnector(sshd, {
        user: user.name,
        data: {
          ssh_key: undefined,
          ssh_password: user.password,
          ssh_strict_host_key_checking: 'no',
        },
      });
      const error = await errorOf(connector.connect());
      await connector.disconnect();
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain(
        'password and keyboard-interactive authentication were not tried: the host key changed',
      );
      const warnings = log.messages.filter((m) => m.level === 'warn').map((m) => m.message);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');
      expect(warnings[0]).toContain(sshd.hostFingerprint);
      expect(warnings[0]).toContain(replaced.hostFingerprint);
      expect(warnings[0]).toContain(sshd.knownHostsFile);
      // sshd never saw a password attempt for the user.
      expect(await passwordLogins()).toEqual(before);
      expect(`${error.message}\n${log.text()}`).not.toContain(user.password);
    });

    it('lets key authentication go on, with the warning', async () => {
      const { connector, log } = sshConnector(sshd, {
        user: user.name,
        data: { ssh_password: user.password, ssh_strict_host_key_checking: 'no' },
      });
      try {
        expect((await connector.runShellCommand('id -un')).output.stdout).toBe(user.name);
      } finally {
        await connector.disconnect();
      }
      const warnings = log.messages.filter((m) => m.level === 'warn').map((m) => m.message);
      expect(warnings.join('\n')).toContain(replaced.hostFingerprint);
    });

    it('still refuses the changed key under accept-new, and takes the new key when it is known', async () => {
      const refused = await errorOf(
        sshConnector(sshd, {
          user: user.name,
          data: { ssh_strict_host_key_checking: 'accept-new' },
        }).connector.connect(),
      );
      expect(refused.message).toContain('CHANGED');
      const file = await sshd.writeKnownHosts('known_hosts.replaced', [
        `[127.0.0.1]:${sshd.port} ${replaced.hostPublicKey}`,
      ]);
      const { connector, log } = sshConnector(sshd, {
        user: user.name,
        data: {
          ssh_key: undefined,
          ssh_password: user.password,
          ssh_known_hosts_file: file,
          ssh_strict_host_key_checking: 'no',
        },
      });
      try {
        expect((await connector.runShellCommand('id -un')).output.stdout).toBe(user.name);
      } finally {
        await connector.disconnect();
      }
      expect(log.messages.filter((m) => m.level === 'warn')).toEqual([]);
    });
  },
);
