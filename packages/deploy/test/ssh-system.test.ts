import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeployFunction, keysOf } from '../src/index.js';
import { type AptRepo, aptRepoMissingReason, startAptRepo } from './apt-repo-fixture.js';
import { run, sshHost, statuses } from './hosts.js';

const skip = peerMissing('sshd', sshdMissingReason()) ?? (await aptRepoMissingReason());

describe.skipIf(skip !== undefined)(
  'system configuration over @ssh (files the login user owns)',
  () => {
    let sshd: SshdFixture;
    let repo: AptRepo;
    let dir: string;
    let remote: string;

    beforeAll(async () => {
      sshd = await startSshd();
      repo = await startAptRepo();
      dir = await mkdtemp(join(tmpdir(), 'infra-ssh-system-'));
      // The deploy (as the sudo test user, without sudo) makes this itself; root only picks the name.
      remote = `${dir}-remote`;
    }, 60_000);
    afterAll(async () => {
      await sshd?.dispose();
      await repo?.close();
      await rm(dir, { recursive: true, force: true });
      if (remote) await rm(remote, { recursive: true, force: true });
    });

    it('apt.key (armored text and URL to one keyring), sysctl persisted, a security limit; twice, --dry first', async () => {
      const live = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
      const fn =
        (src: string): DeployFunction =>
        async ({ ops }) => {
          await ops.apt.key({ src, keyring: `${remote}/keyrings/test.gpg` });
          await ops.server.sysctl({
            key: 'net.ipv4.ip_forward',
            value: live,
            persist: true,
            persistFile: `${remote}/sysctl.d/99-infra.conf`,
          });
          await ops.server.securityLimit({
            domain: 'infra-sudo',
            limitType: '-',
            item: 'nofile',
            value: 8192,
            path: `${remote}/limits.conf`,
          });
        };
      const dry = await run(fn(repo.armoredKey), [sshHost(sshd, 'ssh-system')], { dry: true });
      expect(statuses(dry.planned)).toEqual([
        'apt.key:changed',
        'server.sysctl:changed',
        'server.securityLimit:changed',
      ]);
      await expect(readFile(`${remote}/limits.conf`)).rejects.toThrow(/ENOENT/);

      const first = await run(fn(repo.armoredKey), [sshHost(sshd, 'ssh-system')]);
      expect([...first.failedHosts.values()]).toEqual([]);
      const keyring = await readFile(`${remote}/keyrings/test.gpg`);
      expect(keysOf(keyring)[0]?.fingerprint).toBe(repo.fingerprint);
      expect(await readFile(`${remote}/sysctl.d/99-infra.conf`, 'utf8')).toBe(
        `net.ipv4.ip_forward = ${live}\n`,
      );
      expect(await readFile(`${remote}/limits.conf`, 'utf8')).toBe('infra-sudo\t-\tnofile\t8192\n');

      // The same key by URL: the same keyring, so nothing to do.
      const second = await run(fn(`${repo.url}/key.asc`), [sshHost(sshd, 'ssh-system')]);
      expect(second.ending).toBe('nothing-to-do');
    });

    it('reads the system facts of this machine', async () => {
      const outcome = await run(
        async ({ facts, dry }) => {
          if (dry) return;
          const keys = await facts.apt.keys();
          // Debian's archive keyring is on every Debian host.
          const archive = Object.entries(keys).find(([path]) =>
            path.endsWith('debian-archive-keyring.gpg'),
          );
          expect(Array.isArray(archive?.[1]) && archive[1].length).toBeGreaterThan(0);
          expect(Array.isArray(await facts.apt.sources())).toBe(true);
          expect((await facts.server.mounts())['/proc']?.type).toBe('proc');
          expect(await facts.server.sysctlKeys({ keys: ['kernel.ostype'] })).toEqual({
            'kernel.ostype': 'Linux',
          });
          expect((await facts.server.sysctl())['kernel.ostype']).toBe('Linux');
          expect(Array.isArray(await facts.server.locales())).toBe(true);
        },
        [sshHost(sshd, 'ssh-system')],
      );
      expect([...outcome.failedHosts.values()]).toEqual([]);
    });
  },
);
