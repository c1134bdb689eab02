import { debianImageMissingReason, useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { type AptRepo, aptRepoMissingReason, startAptRepo } from './apt-repo-fixture.js';
import { useDebianContainer } from './debian-container.js';
import { run, statuses } from './hosts.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason() ?? (await aptRepoMissingReason());

describe.skipIf(skip !== undefined)(
  'apt.key, apt.repo, apt.update/upgrade, apt.deb on Debian',
  () => {
    let repo: AptRepo;
    beforeAll(async () => {
      repo = await startAptRepo();
      await repo.addPackage('infra-hello', '1.0', 'hello 1.0');
    }, 300_000);
    afterAll(async () => {
      await repo?.close();
    });
    // Host networking: the repository server listens on the controller's 127.0.0.1.
    const { host, sh } = useDebianContainer(dockerd, {
      name: 'debian-apt',
      spec: { Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'host' } },
      // Only the test's repository: the image's Debian mirror would make every update slow.
      ready: async (sh) => {
        await sh('rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*');
      },
    });

    const setup =
      (): DeployFunction =>
      async ({ ops }) => {
        const key = await ops.apt.key({ src: `${repo.url}/key.asc`, keyring: 'infra-test' });
        const source = await ops.apt.repo({
          filename: 'infra-test',
          uris: `${repo.url}/repo/`,
          suites: './',
          signedBy: 'infra-test',
        });
        await ops.apt.packages({
          packages: ['infra-hello'],
          update: key.changed || source.changed,
        });
      };

    it('key from a URL (dearmored), a deb822 source, install from the signed repository; twice', async () => {
      const dry = await run(setup(), [host()], { dry: true });
      expect([...dry.failedHosts.values()]).toEqual([]);
      expect(statuses(dry.planned)).toEqual([
        'apt.key:changed',
        'apt.repo:changed',
        'apt.packages:changed',
      ]);
      expect(await sh('ls -A /etc/apt/keyrings /etc/apt/sources.list.d')).toBe(
        '/etc/apt/keyrings:\n\n/etc/apt/sources.list.d:',
      );

      const first = await run(setup(), [host()]);
      expect([...first.failedHosts.values()]).toEqual([]);
      expect(statuses(first.executed)).toEqual([
        'apt.key:changed',
        'apt.repo:changed',
        'apt.packages:changed',
      ]);
      expect(await sh('cat /usr/share/infra-hello/hello.txt')).toBe('hello 1.0');
      expect(await sh('cat /etc/apt/sources.list.d/infra-test.sources')).toBe(
        `Types: deb\nURIs: ${repo.url}/repo/\nSuites: ./\nSigned-By: /etc/apt/keyrings/infra-test.gpg`,
      );
      // A binary keyring (dearmored), not the armored text.
      expect(await sh('head -c 1 /etc/apt/keyrings/infra-test.gpg | od -An -tx1')).toBe('98');

      const second = await run(setup(), [host()]);
      expect(second.ending).toBe('nothing-to-do');

      // The same key as armored text or as a binary file: the same keyring, nothing to do.
      const sameKey = await run(
        async ({ ops }) => {
          await ops.apt.key({
            src: repo.armoredKey,
            keyring: 'infra-test',
            keyid: repo.fingerprint,
          });
          await ops.apt.key({
            src: repo.binaryKeyPath,
            keyring: '/etc/apt/keyrings/infra-test.gpg',
          });
        },
        [host()],
      );
      expect(sameKey.ending).toBe('nothing-to-do');

      const facts = await run(
        async ({ facts, dry }) => {
          if (dry) return;
          const keys = await facts.apt.keys();
          expect(keys['/etc/apt/keyrings/infra-test.gpg']).toEqual([
            {
              fingerprint: repo.fingerprint,
              keyId: repo.fingerprint.slice(-16),
              subkey: false,
              userIds: ['infra test <infra-test@example.invalid>'],
            },
          ]);
          expect(await facts.apt.sources()).toEqual([
            {
              file: '/etc/apt/sources.list.d/infra-test.sources',
              format: 'deb822',
              types: ['deb'],
              uris: [`${repo.url}/repo/`],
              suites: ['./'],
              components: [],
              signedBy: '/etc/apt/keyrings/infra-test.gpg',
              enabled: true,
              options: {},
            },
          ]);
        },
        [host()],
      );
      expect([...facts.failedHosts.values()]).toEqual([]);
    }, 180_000);

    it('apt.update (cacheTime), apt.upgrade to a new version, each twice', async () => {
      await repo.addPackage('infra-hello', '1.1', 'hello 1.1');
      const update = await run(async ({ ops }) => void (await ops.apt.update({})), [host()]);
      expect(statuses(update.executed)).toEqual(['apt.update:changed']);
      const cached = await run(
        async ({ ops }) => void (await ops.apt.update({ cacheTime: 3600 })),
        [host()],
      );
      expect(cached.ending).toBe('nothing-to-do');

      const upgrade: DeployFunction = async ({ ops }) => {
        await ops.apt.upgrade({ autoRemove: true });
      };
      const dry = await run(upgrade, [host()], { dry: true });
      expect(dry.planned[0]?.commands).toEqual([
        'DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold upgrade',
        'DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold autoremove',
      ]);
      expect(await sh('cat /usr/share/infra-hello/hello.txt')).toBe('hello 1.0');
      const first = await run(upgrade, [host()]);
      expect(statuses(first.executed)).toEqual(['apt.upgrade:changed']);
      expect(await sh('cat /usr/share/infra-hello/hello.txt')).toBe('hello 1.1');
      expect((await run(upgrade, [host()])).ending).toBe('nothing-to-do');
      expect(
        (await run(async ({ ops }) => void (await ops.apt.distUpgrade({})), [host()])).ending,
      ).toBe('nothing-to-do');
    }, 120_000);

    it('apt.deb from a URL: fetched once, installed once, removed once', async () => {
      await repo.addPackage('infra-loose', '2.0', 'loose 2.0', true);
      const url = `${repo.url}/debs/infra-loose_2.0_all.deb`;
      const install: DeployFunction = async ({ ops }) => {
        await ops.apt.deb({ src: url });
      };
      const dry = await run(install, [host()], { dry: true });
      expect(statuses(dry.planned)).toEqual(['apt.deb:changed']);
      expect(await sh('dpkg -s infra-loose 2>&1 | head -1; ls /var/cache/infra 2>&1')).toMatch(
        /not installed[\s\S]*No such file/,
      );
      const first = await run(install, [host()]);
      expect([...first.failedHosts.values()]).toEqual([]);
      expect(await sh('cat /usr/share/infra-loose/hello.txt')).toBe('loose 2.0');
      const fetches = repo.hits.get('/debs/infra-loose_2.0_all.deb');
      expect((await run(install, [host()])).ending).toBe('nothing-to-do');
      expect(repo.hits.get('/debs/infra-loose_2.0_all.deb')).toBe(fetches);

      const remove: DeployFunction = async ({ ops }) => {
        await ops.apt.deb({ src: url, present: false });
      };
      expect(statuses((await run(remove, [host()])).executed)).toEqual(['apt.deb:changed']);
      expect(await sh('dpkg -s infra-loose >/dev/null 2>&1 && echo installed || echo absent')).toBe(
        'absent',
      );
      expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
    }, 120_000);

    it('apt.key refuses a key that does not hold keyid, naming both', async () => {
      const outcome = await run(
        async ({ ops }) => {
          await ops.apt.key({ src: repo.armoredKey, keyring: 'other', keyid: '0123456789ABCDEF' });
        },
        [host()],
      );
      expect(outcome.failedHosts.get('debian-apt')?.message).toMatch(
        /apt\.key: the key from src does not hold keyid 0123456789ABCDEF: it holds [0-9A-F]{40}/,
      );
      expect(await sh('ls /etc/apt/keyrings')).toBe('infra-test.gpg');
    });

    it('apt.repo and apt.key with present: false remove the source and the keyring; twice', async () => {
      const remove: DeployFunction = async ({ ops }) => {
        await ops.apt.repo({ filename: 'infra-test', present: false });
        await ops.apt.key({ keyring: 'infra-test', present: false });
      };
      const dry = await run(remove, [host()], { dry: true });
      expect(dry.planned.flatMap((r) => r.commands)).toEqual([
        'rm -f /etc/apt/sources.list.d/infra-test.sources',
        'rm -f /etc/apt/keyrings/infra-test.gpg',
      ]);
      expect(await sh('ls /etc/apt/keyrings')).toBe('infra-test.gpg');
      expect(statuses((await run(remove, [host()])).executed)).toEqual([
        'apt.repo:changed',
        'apt.key:changed',
      ]);
      expect(await sh('ls -A /etc/apt/keyrings /etc/apt/sources.list.d')).toBe(
        '/etc/apt/keyrings:\n\n/etc/apt/sources.list.d:',
      );
      expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
    });
  },
);
