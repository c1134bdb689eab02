import { debianImageMissingReason, useDockerd } from '@infra/connector-testkit';
import { describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { aptRepoMissingReason, startAptRepo } from './apt-repo-fixture.js';
import { useDebianContainer } from './debian-container.js';
import { run, statuses } from './hosts.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason();
const noGpg = await aptRepoMissingReason();

const spec = (name: string) => `Name: ${name}
Version: 1.0
Release: 1
Summary: infra test package
License: MIT
BuildArch: noarch
%description
A file for the dnf.repo and dnf.rpm tests.
%install
mkdir -p %{buildroot}/usr/share/${name}
echo ${name} > %{buildroot}/usr/share/${name}/hello.txt
%files
/usr/share/${name}/hello.txt
`;

describe.skipIf(skip !== undefined)('dnf.repo, yum.repo and dnf.rpm on Debian (Debian dnf)', () => {
  const RPM = '/root/rpmbuild/RPMS/noarch/infra-rpm-file-1.0-1.noarch.rpm';
  const { host, sh } = useDebianContainer(dockerd, {
    name: 'dnf-repo',
    spec: { Cmd: ['sleep', '3600'], HostConfig: { NetworkMode: 'none' } },
    ready: async (sh) => {
      // Two packages built in the container: one served from a repository (file:), one
      // left as a file for dnf.rpm.
      const setup = await sh(
        [
          'mkdir -p /root/rpmbuild/SPECS /srv/repo',
          `printf '%s' '${spec('infra-repo-pkg')}' > /root/rpmbuild/SPECS/a.spec`,
          `printf '%s' '${spec('infra-rpm-file')}' > /root/rpmbuild/SPECS/b.spec`,
          'rpmbuild -bb /root/rpmbuild/SPECS/a.spec > /tmp/a.log 2>&1',
          'rpmbuild -bb /root/rpmbuild/SPECS/b.spec > /tmp/b.log 2>&1',
          'cp /root/rpmbuild/RPMS/noarch/infra-repo-pkg-*.rpm /srv/repo/',
          'createrepo_c -q /srv/repo',
          'echo ready',
        ].join(' && '),
      );
      if (!setup.endsWith('ready')) throw new Error(`rpm setup failed: ${setup}`);
    },
  });

  it('dnf.repo writes the .repo file; a package installs from it; twice', async () => {
    const fn: DeployFunction = async ({ ops }) => {
      const repo = await ops.dnf.repo({
        src: 'infra-local',
        baseurl: 'file:///srv/repo',
        description: 'infra local',
        gpgcheck: false,
      });
      await ops.dnf.packages({ packages: 'infra-repo-pkg', update: repo.changed });
    };
    const dry = await run(fn, [host()], { dry: true });
    expect(statuses(dry.planned)).toEqual(['dnf.repo:changed', 'dnf.packages:changed']);
    expect(await sh('ls /etc/yum.repos.d 2>&1 | grep -c infra || true')).toBe('0');
    const first = await run(fn, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await sh('cat /etc/yum.repos.d/infra-local.repo')).toBe(
      '[infra-local]\nname=infra local\nbaseurl=file:///srv/repo\nenabled=1\ngpgcheck=0',
    );
    expect(await sh('cat /usr/share/infra-repo-pkg/hello.txt')).toBe('infra-repo-pkg');
    expect((await run(fn, [host()])).ending).toBe('nothing-to-do');

    // yum.repo writes the same file format: the same arguments are no change.
    const yum = await run(
      async ({ ops }) =>
        void (await ops.yum.repo({
          src: 'infra-local',
          baseurl: 'file:///srv/repo',
          description: 'infra local',
          gpgcheck: false,
        })),
      [host()],
    );
    expect(yum.ending).toBe('nothing-to-do');
  }, 120_000);

  it('dnf.rpm installs an .rpm on the host by its name and version, removes it; twice', async () => {
    const install: DeployFunction = async ({ ops }) => {
      await ops.dnf.rpm({ src: RPM });
    };
    const dry = await run(install, [host()], { dry: true });
    expect(dry.planned[0]?.commands).toEqual([`dnf -y install ${RPM}`]);
    expect(await sh('rpm -q infra-rpm-file || true')).toBe(
      'package infra-rpm-file is not installed',
    );
    const first = await run(install, [host()]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await sh('cat /usr/share/infra-rpm-file/hello.txt')).toBe('infra-rpm-file');
    expect((await run(install, [host()])).ending).toBe('nothing-to-do');
    const remove: DeployFunction = async ({ ops }) => {
      await ops.dnf.rpm({ src: RPM, present: false });
    };
    expect(statuses((await run(remove, [host()])).executed)).toEqual(['dnf.rpm:changed']);
    expect(await sh('rpm -q infra-rpm-file || true')).toBe(
      'package infra-rpm-file is not installed',
    );
    expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
  }, 120_000);

  it.skipIf(noGpg !== undefined)(
    'dnf.key imports a key once (binary, armored here, or armored text: one key id)',
    async () => {
      const repo = await startAptRepo();
      try {
        const version = repo.fingerprint.slice(-8).toLowerCase();
        const fromFile: DeployFunction = async ({ ops }) => {
          await ops.dnf.key({ src: repo.binaryKeyPath });
        };
        const dry = await run(fromFile, [host()], { dry: true });
        expect(statuses(dry.planned)).toEqual(['dnf.key:changed']);
        expect(await sh('rpm -q gpg-pubkey || true')).toBe('package gpg-pubkey is not installed');
        const first = await run(fromFile, [host()]);
        expect([...first.failedHosts.values()]).toEqual([]);
        expect(await sh("rpm -q gpg-pubkey --queryformat '%{VERSION}'")).toBe(version);
        expect((await run(fromFile, [host()])).ending).toBe('nothing-to-do');
        const asText = await run(
          async ({ ops }) => void (await ops.yum.key({ src: repo.armoredKey })),
          [host()],
        );
        expect(asText.ending).toBe('nothing-to-do');
      } finally {
        await repo.close();
      }
    },
  );
});
