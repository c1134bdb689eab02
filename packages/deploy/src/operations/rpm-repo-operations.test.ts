import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import { repoFileText, yumRpmOperation } from './rpm-repo-operations.js';

describe('dnf.repo / yum.repo / yum.rpm', () => {
  it('writes a .repo file and names bad input', () => {
    expect(
      repoFileText('dnf.repo', {
        src: 'epel',
        baseurl: 'https://mirror.example/epel/9/$basearch',
        gpgkey: 'file:///etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-9',
      }),
    ).toBe(
      '[epel]\nname=epel\nbaseurl=https://mirror.example/epel/9/$basearch\nenabled=1\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-EPEL-9\n',
    );
    expect(() => repoFileText('dnf.repo', { src: '../x', baseurl: 'file:///x' })).toThrow(
      /src "..\/x" is not a repository id/,
    );
    expect(() => repoFileText('yum.repo', { src: 'x' })).toThrow(
      /yum\.repo: the argument baseurl is required/,
    );
  });

  it('yum.rpm installs with yum, and only when that version is not installed', async () => {
    const file = { name: 'app', version: '1.0-1' };
    const install = await planWith(
      yumRpmOperation,
      { src: '/tmp/app.rpm' },
      {
        'dnf.rpmFile': file,
        'dnf.packages': {},
      },
    );
    expect(install.commands).toEqual(['yum -y install /tmp/app.rpm']);
    const installed = await planWith(
      yumRpmOperation,
      { src: '/tmp/app.rpm' },
      {
        'dnf.rpmFile': file,
        'dnf.packages': { app: ['1.0-1'] },
      },
    );
    expect(installed.commands).toEqual([]);
    const remove = await planWith(
      yumRpmOperation,
      { src: '/tmp/app.rpm', present: false },
      {
        'dnf.rpmFile': file,
        'dnf.packages': { app: ['1.0-1'] },
      },
    );
    expect(remove.commands).toEqual(['yum -y remove app']);
  });
});

describe('yum.packages', () => {
  it('sends yum commands', async () => {
    const { yumPackagesOperation } = await import('./yum-operations.js');
    const plan = await planWith(
      yumPackagesOperation,
      { packages: ['nginx', 'git'], update: true },
      { 'dnf.packages': { git: ['2.0-1'] } },
    );
    expect(plan.commands).toEqual(['yum -y makecache', 'yum -y install nginx']);
  });
});
