import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import {
  apkPackagesOperation,
  aptPackagesOperation,
  dnfPackagesOperation,
  splitApkSpec,
  splitDnfSpec,
} from './package-operations.js';

const APT = `DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold`;

describe('apt.packages', () => {
  const installed = { bash: ['5.2.15-2+b8'], hello: ['2.10-3'] };

  it('installs only what is missing, pinned versions compared exactly', async () => {
    const { commands } = await planWith(
      aptPackagesOperation,
      { packages: ['bash', 'hello=2.10-2', 'curl', "odd'name"] },
      { 'apt.packages': installed },
    );
    expect(commands).toEqual([`${APT} install hello=2.10-2 curl 'odd'"'"'name'`]);
  });

  it('does nothing when everything is installed, and reads no cache age without update', async () => {
    const { commands, factsRead } = await planWith(
      aptPackagesOperation,
      { packages: 'bash,hello' },
      { 'apt.packages': installed },
    );
    expect(commands).toEqual([]);
    expect(factsRead).toEqual(['apt.packages']);
  });

  it('updates the index only past the cache age, and touches the stamp', async () => {
    const fresh = await planWith(
      aptPackagesOperation,
      { packages: ['hello'], update: true, cacheTime: 3600 },
      { 'apt.cacheAge': 120, 'apt.packages': installed },
    );
    expect(fresh.commands).toEqual([]);
    const stale = await planWith(
      aptPackagesOperation,
      { update: true, cacheTime: '3600' },
      { 'apt.cacheAge': 7200 },
    );
    expect(stale.commands).toEqual([
      'DEBIAN_FRONTEND=noninteractive apt-get update && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp',
    ]);
    const never = await planWith(
      aptPackagesOperation,
      { update: true, cacheTime: 3600 },
      { 'apt.cacheAge': null },
    );
    expect(never.commands).toHaveLength(1);
  });

  it('upgrades with latest only when the candidate differs', async () => {
    const { commands } = await planWith(
      aptPackagesOperation,
      { packages: ['bash', 'hello'], latest: true, noRecommends: true },
      {
        'apt.packages': installed,
        'apt.policy': (args: unknown) => {
          expect(args).toEqual({ packages: ['bash', 'hello'] });
          return {
            bash: { installed: '5.2.15-2+b8', candidate: '5.2.15-2+b13' },
            hello: { installed: '2.10-3', candidate: '2.10-3' },
          };
        },
      },
    );
    expect(commands).toEqual([`${APT} install --no-install-recommends bash`]);
  });

  it('removes (or purges) only what is installed', async () => {
    const remove = await planWith(
      aptPackagesOperation,
      { packages: ['hello', 'curl'], present: false },
      { 'apt.packages': installed },
    );
    expect(remove.commands).toEqual([`${APT} remove hello`]);
    const purge = await planWith(
      aptPackagesOperation,
      { packages: ['hello=2.10-3'], present: 'false', purge: true },
      { 'apt.packages': installed },
    );
    expect(purge.commands).toEqual([`${APT} purge hello`]);
  });

  it('refuses an empty package list without update, and a bad cache time', async () => {
    await expect(planWith(aptPackagesOperation, { packages: [] }, {})).rejects.toThrow(
      /apt.packages: packages is empty/,
    );
    await expect(
      planWith(aptPackagesOperation, { update: true, cacheTime: 'soon' }, {}),
    ).rejects.toThrow(/cacheTime "soon" is not a whole number/);
  });
});

describe('apk.packages', () => {
  it('splits specs at the constraint operator', () => {
    expect(splitApkSpec('curl')).toEqual({ name: 'curl', version: undefined });
    expect(splitApkSpec('curl=8.9.1-r0')).toEqual({ name: 'curl', version: '8.9.1-r0' });
    expect(splitApkSpec('curl>8')).toEqual({ name: 'curl', version: undefined });
  });

  it('adds what is missing, upgrades with latest, deletes with present: false', async () => {
    const installed = { busybox: ['1.36.1-r28'], zlib: ['1.3.1-r1'] };
    const add = await planWith(
      apkPackagesOperation,
      { packages: ['busybox', 'zlib', 'curl'], latest: true, update: true },
      { 'apk.packages': installed, 'apk.upgradable': ['busybox'] },
    );
    expect(add.commands).toEqual(['apk update', 'apk add curl', 'apk add --upgrade busybox']);
    const del = await planWith(
      apkPackagesOperation,
      { packages: ['zlib', 'curl'], present: false },
      { 'apk.packages': installed },
    );
    expect(del.commands).toEqual(['apk del zlib']);
    const none = await planWith(
      apkPackagesOperation,
      { packages: 'busybox zlib' },
      { 'apk.packages': installed },
    );
    expect(none.commands).toEqual([]);
  });
});

describe('dnf.packages', () => {
  it('splits name-version specs', () => {
    expect(splitDnfSpec('bash')).toEqual({ name: 'bash', version: undefined });
    expect(splitDnfSpec('bash-5.2.26-3.fc40')).toEqual({ name: 'bash', version: '5.2.26-3.fc40' });
    expect(splitDnfSpec('python3-libs')).toEqual({ name: 'python3-libs', version: undefined });
  });

  it('installs, upgrades and removes by the rpm fact', async () => {
    const installed = { bash: ['5.2.26-3.fc40'], vim: ['9.1-1.fc40'] };
    const install = await planWith(
      dnfPackagesOperation,
      { packages: ['bash', 'vim', 'tmux'], latest: true },
      { 'dnf.packages': installed, 'dnf.upgradable': ['vim'] },
    );
    expect(install.commands).toEqual(['dnf -y install tmux', 'dnf -y upgrade vim']);
    const remove = await planWith(
      dnfPackagesOperation,
      { packages: ['vim', 'tmux'], present: false, update: true },
      { 'dnf.packages': installed },
    );
    expect(remove.commands).toEqual(['dnf -y makecache', 'dnf -y remove vim']);
  });
});
