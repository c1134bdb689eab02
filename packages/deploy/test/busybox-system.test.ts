import { useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import {
  containerExec,
  dockerHost,
  removeContainer,
  run,
  startContainer,
  statuses,
} from './hosts.js';

const { dockerd, skip } = await useDockerd();

describe.skipIf(skip !== undefined)('system configuration on busybox', () => {
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'bb-system');
  const sh = (command: string) => containerExec(dockerd!, container, command);

  beforeAll(async () => {
    container = await startContainer(dockerd!, {
      Image: dockerd!.images.busybox,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'none' },
    });
    // busybox crontab keeps crontabs here; the cron package would make it.
    await sh('mkdir -p /var/spool/cron/crontabs');
  });
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  it("crontab.crontab adds, changes and removes root's entries; each twice", async () => {
    const fn =
      (hour: string): DeployFunction =>
      async ({ ops }) => {
        await ops.crontab.crontab({ command: '/usr/bin/backup --all', minute: '15', hour });
        await ops.crontab.crontab({
          command: 'echo tick >> /tmp/ticks',
          cronName: 'ticker',
          minute: '*/5',
        });
        await ops.crontab.crontab({ command: '/sbin/boot-hook', specialTime: '@reboot' });
      };
    const dry = await run(fn('3'), [host()], { dry: true });
    expect(statuses(dry.planned)).toEqual([
      'crontab.crontab:changed',
      'crontab.crontab:changed',
      'crontab.crontab:changed',
    ]);
    expect(await sh('crontab -l 2>&1')).toMatch(/can't open 'root'/);

    const first = await run(fn('3'), [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await sh('crontab -l')).toBe(
      '15 3 * * * /usr/bin/backup --all\n# infra-name=ticker\n*/5 * * * * echo tick >> /tmp/ticks\n@reboot /sbin/boot-hook',
    );
    expect((await run(fn('3'), [host()])).ending).toBe('nothing-to-do');

    // A changed hour rewrites that line only.
    const changed = await run(fn('4'), [host()]);
    expect(statuses(changed.executed)).toEqual([
      'crontab.crontab:changed',
      'crontab.crontab:no-change',
      'crontab.crontab:no-change',
    ]);
    expect((await sh('crontab -l')).split('\n')[0]).toBe('15 4 * * * /usr/bin/backup --all');
    expect((await run(fn('4'), [host()])).ending).toBe('nothing-to-do');

    // By name: a new command replaces the named entry's line.
    const renamed: DeployFunction = async ({ ops }) => {
      await ops.crontab.crontab({ command: 'echo tock >> /tmp/ticks', cronName: 'ticker' });
    };
    expect(statuses((await run(renamed, [host()])).executed)).toEqual(['crontab.crontab:changed']);
    expect((await run(renamed, [host()])).ending).toBe('nothing-to-do');

    const facts = await run(
      async ({ facts, dry }) => {
        if (dry) return;
        expect(await facts.crontab.entries({})).toEqual([
          {
            command: '/usr/bin/backup --all',
            minute: '15',
            hour: '4',
            dayOfMonth: '*',
            month: '*',
            dayOfWeek: '*',
          },
          {
            command: 'echo tock >> /tmp/ticks',
            minute: '*',
            hour: '*',
            dayOfMonth: '*',
            month: '*',
            dayOfWeek: '*',
            name: 'ticker',
          },
          {
            command: '/sbin/boot-hook',
            minute: '*',
            hour: '*',
            dayOfMonth: '*',
            month: '*',
            dayOfWeek: '*',
            specialTime: '@reboot',
          },
        ]);
      },
      [host()],
    );
    expect([...facts.failedHosts.values()]).toEqual([]);

    const remove: DeployFunction = async ({ ops }) => {
      await ops.crontab.crontab({ command: 'x', cronName: 'ticker', present: false });
      await ops.crontab.crontab({ command: '/sbin/boot-hook', present: false });
    };
    expect(statuses((await run(remove, [host()])).executed)).toEqual([
      'crontab.crontab:changed',
      'crontab.crontab:changed',
    ]);
    expect(await sh('crontab -l')).toBe('15 4 * * * /usr/bin/backup --all');
    expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
  });

  it("crontab.crontab edits another user's crontab with user", async () => {
    const fn: DeployFunction = async ({ ops }) => {
      await ops.crontab.crontab({ command: 'date', user: 'nobody', hour: '1', minute: '0' });
    };
    expect(statuses((await run(fn, [host()])).executed)).toEqual(['crontab.crontab:changed']);
    expect(await sh('crontab -u nobody -l')).toBe('0 1 * * * date');
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
  });

  it('server.sysctl (busybox sysctl) persists, server.securityLimit creates its file; twice', async () => {
    const live = await sh('cat /proc/sys/net/ipv4/ip_forward');
    const fn: DeployFunction = async ({ ops }) => {
      await ops.server.sysctl({
        key: 'net.ipv4.ip_forward',
        value: live,
        persist: true,
        persistFile: '/etc/sysctl.conf',
      });
      await ops.server.securityLimit({ domain: '*', limitType: 'hard', item: 'core', value: 0 });
    };
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await sh('cat /etc/sysctl.conf /etc/security/limits.conf')).toBe(
      `net.ipv4.ip_forward = ${live}\n*\thard\tcore\t0`,
    );
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
  });

  it("server.modprobe: the container may not load modules (the error is the host's)", async () => {
    const outcome = await run(
      async ({ ops }) => void (await ops.server.modprobe({ module: 'infra_no_such_module' })),
      [host()],
    );
    expect(outcome.executed[0]?.commands).toEqual(['modprobe infra_no_such_module']);
    // No /lib/modules in a container (and no CAP_SYS_MODULE): loading is the host kernel's.
    expect(outcome.failedHosts.get('bb-system')?.message).toMatch(
      /modprobe infra_no_such_module exited with 1: modprobe: can't change directory to '\/lib\/modules'/,
    );
    const facts = await run(
      async ({ facts, dry }) => {
        // /proc/modules is the host kernel's list, read for real.
        if (!dry) expect(Array.isArray(await facts.server.kernelModules())).toBe(true);
      },
      [host()],
    );
    expect([...facts.failedHosts.values()]).toEqual([]);
  });
});
