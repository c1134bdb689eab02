import { describe, expect, it } from 'vitest';
import {
  aptPackagesFact,
  aptPolicyFact,
  dnfPackagesFact,
  parseApkInfo,
  parseApkUpgradable,
  parseAptPolicy,
  parseDnfUpgrades,
  parseDpkgQuery,
  parseRpmQuery,
  splitApkId,
} from './package-facts.js';

describe('apt facts', () => {
  it('keeps installed packages only, with every installed version', () => {
    const lines = [
      'adduser\t3.134\tii ',
      'hello\t2.10-3\trc ', // removed, configuration kept
      'held\t1.0\thi ',
      'linux-image\t6.1.1\tii ',
      'linux-image\t6.1.2\tii ',
      'broken\t1.0\tiU ', // unpacked, not configured
      'garbage line',
    ];
    expect(parseDpkgQuery(lines)).toEqual({
      adduser: ['3.134'],
      held: ['1.0'],
      'linux-image': ['6.1.1', '6.1.2'],
    });
  });

  it('asks dpkg-query for a tab-separated format, quoted for the shell', () => {
    expect(String(aptPackagesFact.command({}))).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's format, not JavaScript's.
      "dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'",
    );
  });

  it('reads installed and candidate versions from apt-cache policy', () => {
    const lines = [
      'hello:',
      '  Installed: (none)',
      '  Candidate: 2.10-3',
      '  Version table:',
      '     2.10-3 500',
      '        500 http://deb.debian.org/debian bookworm/main amd64 Packages',
      'bash:',
      '  Installed: 5.2.15-2+b8',
      '  Candidate: 5.2.15-2+b13',
    ];
    expect(parseAptPolicy(lines)).toEqual({
      hello: { installed: null, candidate: '2.10-3' },
      bash: { installed: '5.2.15-2+b8', candidate: '5.2.15-2+b13' },
    });
    expect(String(aptPolicyFact.command({ packages: 'a,b c' }))).toBe(
      'LC_ALL=C apt-cache policy a b c',
    );
  });
});

describe('apk facts', () => {
  it('splits apk ids into name and version', () => {
    expect(splitApkId('musl-1.2.4-r2')).toEqual({ name: 'musl', version: '1.2.4-r2' });
    expect(splitApkId('py3-setuptools-70.3.0-r0')).toEqual({
      name: 'py3-setuptools',
      version: '70.3.0-r0',
    });
    expect(splitApkId('libcrypto3-3.3.2-r1')).toEqual({ name: 'libcrypto3', version: '3.3.2-r1' });
    expect(splitApkId('not-a-package')).toBeUndefined();
  });

  it('reads apk info -v and apk version -l "<"', () => {
    expect(parseApkInfo(['WARNING: ignoring', 'busybox-1.36.1-r29', 'zlib-1.3.1-r1'])).toEqual({
      busybox: ['1.36.1-r29'],
      zlib: ['1.3.1-r1'],
    });
    expect(
      parseApkUpgradable([
        'Installed:                                Available:',
        'busybox-1.36.1-r28                      < 1.36.1-r29',
        'zlib-1.3.1-r1                           = 1.3.1-r1',
      ]),
    ).toEqual(['busybox']);
  });
});

describe('dnf facts', () => {
  it('reads rpm -qa with name and version-release', () => {
    expect(
      parseRpmQuery(['bash\t5.2.26-3.fc40', 'kernel\t6.8.5-301.fc40', 'kernel\t6.9.1-1.fc40']),
    ).toEqual({
      bash: ['5.2.26-3.fc40'],
      kernel: ['6.8.5-301.fc40', '6.9.1-1.fc40'],
    });
    expect(String(dnfPackagesFact.command({}))).toBe(
      "rpm -qa --queryformat '%{NAME}\t%{VERSION}-%{RELEASE}\n'",
    );
  });

  it('reads dnf list --upgrades, skipping its heading', () => {
    expect(
      parseDnfUpgrades([
        'Available Upgrades',
        'bash.x86_64        5.2.26-4.fc40       updates',
        'python3-libs.x86_64  3.12.4-1.fc40     updates',
      ]),
    ).toEqual(['bash', 'python3-libs']);
  });
});
