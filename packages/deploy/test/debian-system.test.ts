import { debianImageMissingReason, useDockerd } from '@infra/connector-testkit';
import { describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { useDebianContainer } from './debian-container.js';
import { run, statuses } from './hosts.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason();

describe.skipIf(skip !== undefined)('server configuration on Debian', () => {
  // SYS_ADMIN (and no seccomp/apparmor profile) lets the container mount a tmpfs;
  // host networking reaches the Debian mirror for the locales package.
  const { host, sh } = useDebianContainer(dockerd, {
    name: 'debian-system',
    spec: {
      Cmd: ['sleep', '3600'],
      HostConfig: {
        NetworkMode: 'host',
        CapAdd: ['SYS_ADMIN'],
        SecurityOpt: ['apparmor=unconfined', 'seccomp=unconfined'],
      },
    },
  });

  it('server.sysctl persists a value in /etc/sysctl.d; the live write is refused by the container', async () => {
    const live = await sh('cat /proc/sys/net/ipv4/ip_forward');
    const persist: DeployFunction = async ({ ops }) => {
      await ops.server.sysctl({ key: 'net.ipv4.ip_forward', value: live, persist: true });
    };
    const dry = await run(persist, [host()], { dry: true });
    expect(dry.planned[0]).toMatchObject({ commands: ['upload /etc/sysctl.d/99-infra.conf'] });
    expect(await sh('ls /etc/sysctl.d')).not.toMatch(/99-infra/);
    const first = await run(persist, [host()]);
    expect(statuses(first.executed)).toEqual(['server.sysctl:changed']);
    expect(await sh('cat /etc/sysctl.d/99-infra.conf')).toBe(`net.ipv4.ip_forward = ${live}`);
    expect((await run(persist, [host()])).ending).toBe('nothing-to-do');

    // Docker mounts /proc/sys read-only in an unprivileged container: sysctl -w fails
    // there, and the persisted file is left as it was.
    const other = live === '1' ? '0' : '1';
    const change = await run(
      async ({ ops }) => {
        await ops.server.sysctl({ key: 'net.ipv4.ip_forward', value: other, persist: true });
      },
      [host()],
    );
    expect(change.failedHosts.get('debian-system')?.message).toMatch(
      /\/proc\/sys\/net\/ipv4\/ip_forward: Read-only file system/,
    );
    expect(await sh('cat /etc/sysctl.d/99-infra.conf')).toBe(`net.ipv4.ip_forward = ${live}`);

    const facts = await run(
      async ({ facts, dry }) => {
        if (!dry) {
          expect(
            (await facts.server.sysctlKeys({ keys: ['net.ipv4.ip_forward'] }))[
              'net.ipv4.ip_forward'
            ],
          ).toBe(live);
        }
      },
      [host()],
    );
    expect([...facts.failedHosts.values()]).toEqual([]);
  });

  it('server.mount: a tmpfs in fstab and mounted, remounted with new options, unmounted; each twice', async () => {
    const mount =
      (options: string[]): DeployFunction =>
      async ({ ops }) => {
        await ops.server.mount({
          path: '/mnt/infra tmp',
          device: 'tmpfs',
          fsType: 'tmpfs',
          options,
          fstab: true,
        });
      };
    const dry = await run(mount(['size=8m']), [host()], { dry: true });
    expect(dry.planned[0]?.commands).toEqual([
      'upload /etc/fstab',
      "mkdir -p '/mnt/infra tmp' && mount -t tmpfs -o size=8m tmpfs '/mnt/infra tmp'",
    ]);
    const first = await run(mount(['size=8m']), [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await sh("grep ' /mnt/infra' /proc/mounts; tail -1 /etc/fstab")).toBe(
      'tmpfs /mnt/infra\\040tmp tmpfs rw,relatime,size=8192k 0 0\ntmpfs /mnt/infra\\040tmp tmpfs size=8m 0 0',
    );
    expect((await run(mount(['size=8m']), [host()])).ending).toBe('nothing-to-do');

    const remount = await run(mount(['size=8m', 'noexec']), [host()]);
    expect(remount.executed[0]?.commands).toEqual([
      'upload /etc/fstab',
      "mount -o remount,size=8m,noexec '/mnt/infra tmp'",
    ]);
    expect(await sh("grep ' /mnt/infra' /proc/mounts | cut -d' ' -f4")).toMatch(/noexec/);
    expect((await run(mount(['size=8m', 'noexec']), [host()])).ending).toBe('nothing-to-do');

    const facts = await run(
      async ({ facts, dry }) => {
        if (dry) return;
        expect((await facts.server.mounts())['/mnt/infra tmp']).toMatchObject({
          device: 'tmpfs',
          type: 'tmpfs',
        });
      },
      [host()],
    );
    expect([...facts.failedHosts.values()]).toEqual([]);

    const unmount: DeployFunction = async ({ ops }) => {
      await ops.server.mount({ path: '/mnt/infra tmp', mounted: false, fstab: false });
    };
    expect(statuses((await run(unmount, [host()])).executed)).toEqual(['server.mount:changed']);
    expect(await sh('grep -c /mnt/infra /proc/mounts /etc/fstab')).toBe(
      '/proc/mounts:0\n/etc/fstab:0',
    );
    expect((await run(unmount, [host()])).ending).toBe('nothing-to-do');
  });

  it('server.timezone and server.securityLimit, twice', async () => {
    const fn: DeployFunction = async ({ ops }) => {
      await ops.server.timezone({ timezone: 'Europe/Berlin' });
      await ops.server.securityLimit({
        domain: '@infra',
        limitType: 'soft',
        item: 'nofile',
        value: 4096,
      });
    };
    const dry = await run(fn, [host()], { dry: true });
    expect(statuses(dry.planned)).toEqual([
      'server.timezone:changed',
      'server.securityLimit:changed',
    ]);
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await sh('readlink /etc/localtime; cat /etc/timezone; date +%Z')).toMatch(
      /^\/usr\/share\/zoneinfo\/Europe\/Berlin\nEurope\/Berlin\nCES?T$/,
    );
    expect(await sh('grep @infra /etc/security/limits.conf')).toBe('@infra\tsoft\tnofile\t4096');
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
    const facts = await run(
      async ({ facts, dry }) => {
        if (!dry) expect(await facts.server.timezone()).toBe('Europe/Berlin');
      },
      [host()],
    );
    expect([...facts.failedHosts.values()]).toEqual([]);
    const bad = await run(
      async ({ ops }) => void (await ops.server.timezone({ timezone: 'Mars/Olympus' })),
      [host()],
    );
    expect(bad.failedHosts.get('debian-system')?.message).toMatch(
      /\/usr\/share\/zoneinfo\/Mars\/Olympus does not exist on debian-system/,
    );
  });

  it('server.locale generates de_DE.UTF-8 once (locales from the Debian mirror)', async () => {
    const fn: DeployFunction = async ({ ops }) => {
      await ops.apt.packages({ packages: 'locales', update: true, cacheTime: 3600 });
      await ops.server.locale({ locale: 'de_DE.UTF-8' });
    };
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual(['apt.packages:changed', 'server.locale:changed']);
    expect(await sh('locale -a')).toMatch(/de_DE\.utf8/);
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
    const facts = await run(
      async ({ facts, dry }) => {
        if (!dry) expect(await facts.server.locales()).toContain('de_DE.utf8');
      },
      [host()],
    );
    expect([...facts.failedHosts.values()]).toEqual([]);
  }, 180_000);

  it("crontab.crontab with Debian's cron (from the mirror), twice", async () => {
    const fn: DeployFunction = async ({ ops }) => {
      await ops.apt.packages({
        packages: 'cron',
        update: true,
        cacheTime: 3600,
        noRecommends: true,
      });
      await ops.crontab.crontab({
        command: '/usr/local/bin/report',
        cronName: 'report',
        hour: '6',
      });
    };
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await sh('crontab -l')).toBe('# infra-name=report\n* 6 * * * /usr/local/bin/report');
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
  }, 180_000);
});
