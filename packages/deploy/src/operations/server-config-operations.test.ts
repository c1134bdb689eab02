import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import { normalizeLocale, parseMounts, sysctlPath } from '../facts/system-config-facts.js';
import {
  modprobeOperation,
  mountCommands,
  sameMountOption,
  sysctlOperation,
} from './server-config-operations.js';
import { setLine } from './text-lines.js';

describe('server configuration commands', () => {
  it('server.modprobe loads and unloads by /proc/modules (dashes are underscores there)', async () => {
    const load = await planWith(
      modprobeOperation,
      { module: 'br-netfilter' },
      {
        'server.kernelModules': ['overlay'],
      },
    );
    expect(load.commands).toEqual(['modprobe br-netfilter']);
    const loaded = await planWith(
      modprobeOperation,
      { module: 'br-netfilter' },
      {
        'server.kernelModules': ['br_netfilter'],
      },
    );
    expect(loaded.commands).toEqual([]);
    const unload = await planWith(
      modprobeOperation,
      { module: 'br_netfilter', present: false, force: true },
      { 'server.kernelModules': ['br_netfilter'] },
    );
    expect(unload.commands).toEqual(['modprobe -f -r br_netfilter']);
  });

  it('server.sysctl writes the live value when it differs, and names an unknown key', async () => {
    const set = await planWith(
      sysctlOperation,
      { key: 'vm.swappiness', value: 10 },
      {
        'server.sysctlKeys': { 'vm.swappiness': '60' },
      },
    );
    expect(set.commands).toEqual([
      'if command -v sysctl >/dev/null 2>&1; then sysctl -w vm.swappiness=10; else echo 10 > /proc/sys/vm/swappiness; fi',
    ]);
    await expect(
      planWith(sysctlOperation, { key: 'vm.nope', value: 1 }, { 'server.sysctlKeys': {} }),
    ).rejects.toThrow(
      /vm\.nope is not a kernel parameter on unit-host \(no \/proc\/sys\/vm\/nope\)/,
    );
    await expect(
      planWith(sysctlOperation, { key: 'a;b', value: 1 }, { 'server.sysctlKeys': {} }),
    ).rejects.toThrow(/key "a;b" is not a sysctl name/);
    expect(sysctlPath('net.ipv4.conf.eth0/100.forwarding')).toBe(
      '/proc/sys/net/ipv4/conf/eth0.100/forwarding',
    );
  });

  it('server.mount commands, option sizes, /proc/mounts escapes', () => {
    expect(
      mountCommands({ path: '/srv/data', device: '/dev/sdb1', fsType: 'ext4' }, undefined, [
        'noatime',
      ]).map(String),
    ).toEqual(['mkdir -p /srv/data && mount -t ext4 -o noatime /dev/sdb1 /srv/data']);
    expect(mountCommands({ path: '/srv/data' }, undefined, []).map(String)).toEqual([
      'mount /srv/data',
    ]);
    expect(
      mountCommands({ path: '/srv/data', mounted: false }, { options: ['rw'] }, []).map(String),
    ).toEqual(['umount /srv/data']);
    expect(sameMountOption('size=8m', 'size=8192k')).toBe(true);
    expect(sameMountOption('size=8m', 'size=9m')).toBe(false);
    expect(parseMounts(['tmpfs /mnt/a\\040b tmpfs rw,size=8192k 0 0'])).toEqual({
      '/mnt/a b': { device: 'tmpfs', type: 'tmpfs', options: ['rw', 'size=8192k'] },
    });
  });

  it('locale names and line edits', () => {
    expect(normalizeLocale('de_DE.UTF-8')).toBe('de_DE.utf8');
    expect(normalizeLocale('sr_RS.UTF-8@latin')).toBe('sr_RS.utf8@latin');
    expect(setLine(['a=1', 'b=2', 'a=3'], (l) => l.startsWith('a='), 'a=9')).toEqual([
      'a=9',
      'b=2',
    ]);
    expect(setLine(['a=9'], (l) => l.startsWith('a='), 'a=9')).toBeNull();
    expect(setLine(['b=2'], (l) => l.startsWith('a='), null)).toBeNull();
  });
});
