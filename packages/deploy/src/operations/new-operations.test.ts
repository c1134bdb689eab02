import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import { findCommand } from '../facts/file-search-facts.js';
import { scriptServiceCommands, serverServiceOperation } from './init-service-operations.js';
import { npmPackagesOperation, splitNpmSpec } from './npm-operations.js';
import { pipPackagesOperation, requirementNames } from './pip-operations.js';
import { rebootOperation, waitOperation } from './reboot-operations.js';
import { serverPackagesOperation } from './server-packages-operation.js';

const sh = (action: string) => ({ toString: () => `ctl ${action}` }) as never;
const enable = (on: boolean) => ({ toString: () => (on ? 'enable' : 'disable') }) as never;

describe('script-based services', () => {
  const stopped = { exists: true, running: false, enabled: false };
  const running = { exists: true, running: true, enabled: true };
  const run = (found: typeof stopped, args: Record<string, unknown>) =>
    scriptServiceCommands(found, args, sh, enable).map(String);

  it('starts and enables once; a restart right after a start is not repeated', () => {
    expect(run(stopped, { running: true, restarted: true, enabled: true })).toEqual([
      'ctl start',
      'enable',
    ]);
    expect(run(running, { running: true, enabled: true })).toEqual([]);
    expect(run(running, { restarted: true })).toEqual(['ctl restart']);
    expect(run(running, { running: false, enabled: false })).toEqual(['ctl stop', 'disable']);
    expect(run(running, { command: 'rotate' })).toEqual(['ctl rotate']);
  });
});

describe('server.service and server.packages pick by facts', () => {
  it('server.service goes to systemd, sysvinit or fails naming the host', async () => {
    const systemd = await planWith(
      serverServiceOperation,
      { service: 'nginx', running: true },
      {
        'server.initSystem': 'systemd',
        'systemd.units': {
          'nginx.service': {
            load: 'loaded',
            active: 'inactive',
            sub: 'dead',
            unitFileState: 'enabled',
          },
        },
      },
    );
    expect(systemd.commands).toEqual(['systemctl start nginx.service']);
    const sysv = await planWith(
      serverServiceOperation,
      { service: 'nginx', running: true, enabled: true },
      {
        'server.initSystem': 'sysvinit',
        'sysvinit.status': { exists: true, running: false, enabled: false },
        'server.which': ({ command }: { command: string }) =>
          command === 'update-rc.d' ? '/usr/sbin/update-rc.d' : null,
      },
    );
    expect(sysv.commands).toEqual(['/etc/init.d/nginx start', 'update-rc.d nginx defaults']);
    await expect(
      planWith(serverServiceOperation, { service: 'x' }, { 'server.initSystem': null }),
    ).rejects.toThrow(/no init system found on unit-host/);
    // In the plan pass /etc/init.d may be what an earlier operation is about to create.
    const planned = await planWith(
      serverServiceOperation,
      { service: 'x', running: true },
      {
        'server.initSystem': null,
        'sysvinit.status': { exists: false, running: false, enabled: false },
      },
      { dry: true },
    );
    expect(planned.commands).toEqual(['/etc/init.d/x start']);
  });

  it('server.packages prefers apk, then apt-get, then dnf', async () => {
    const apt = await planWith(
      serverPackagesOperation,
      { packages: ['hello'] },
      {
        'server.which': ({ command }: { command: string }) =>
          command === 'apt-get' || command === 'dnf' ? `/usr/bin/${command}` : null,
        'apt.packages': {},
      },
    );
    expect(apt.commands[0]).toContain('apt-get -y');
    expect(apt.factsRead).toEqual(['server.which', 'server.which', 'apt.packages']);
    await expect(
      planWith(serverPackagesOperation, { packages: ['x'] }, { 'server.which': null }),
    ).rejects.toThrow(/no package manager found on unit-host: expected apk, apt-get or dnf/);
  });
});

describe('pip and npm plans', () => {
  it('pip.packages installs what pip would install, into a venv it creates first', async () => {
    const fresh = await planWith(
      pipPackagesOperation,
      {
        packages: ['demo==1.0'],
        virtualenv: '/srv/venv/',
        extraInstallArgs: '--no-index --find-links /w',
      },
      { 'files.file': null },
    );
    expect(fresh.commands).toEqual([
      'python3 -m venv /srv/venv',
      '/srv/venv/bin/pip install --no-index --find-links /w demo==1.0',
    ]);
    const satisfied = await planWith(
      pipPackagesOperation,
      { packages: ['demo'], virtualenv: '/srv/venv', latest: true },
      { 'files.file': { type: 'file' }, 'pip.installPlan': { install: [], error: null } },
    );
    expect(satisfied.commands).toEqual([]);
    const removal = await planWith(
      pipPackagesOperation,
      { packages: ['Demo_Pkg', 'absent'], present: false, pip: 'pip3' },
      { 'pip.packages': { 'demo-pkg': ['1.0'] } },
    );
    expect(removal.commands).toEqual(['pip3 uninstall --yes Demo_Pkg']);
    expect(requirementNames('# c\n-r other.txt\nflask>=3 # web\nDemo.Pkg==1\n\n')).toEqual([
      'flask',
      'Demo.Pkg',
    ]);
  });

  it('npm.packages: pins compared exactly, latest from npm outdated', async () => {
    expect(splitNpmSpec('@scope/x@1.2.3')).toEqual({ name: '@scope/x', version: '1.2.3' });
    expect(splitNpmSpec('@scope/x')).toEqual({ name: '@scope/x', version: undefined });
    const plan = await planWith(
      npmPackagesOperation,
      { packages: ['a@1.0.0', 'b@^2', 'c'], latest: true, directory: '/srv/app' },
      {
        'npm.packages': { a: ['0.9.0'], b: ['2.1.0'], c: ['1.0.0'] },
        'npm.outdated': { c: { current: '1.0.0', latest: '1.1.0' } },
      },
    );
    expect(plan.commands).toEqual(['cd /srv/app && npm install a@1.0.0 c@1.1.0']);
  });
});

describe('server.reboot and server.wait', () => {
  it('reboot is one function step; bad timing names the argument', async () => {
    const plan = await planWith(rebootOperation, { delay: 0, interval: '0.5' }, {});
    expect(plan.commands).toEqual(['reboot and reconnect (delay 0s, every 0.5s, within 300s)']);
    await expect(planWith(rebootOperation, { rebootTimeout: 'soon' }, {})).rejects.toThrow(
      /rebootTimeout "soon" is not a number of seconds/,
    );
  });

  it('wait: nothing to do when the port listens; a loop when it does not', async () => {
    expect(
      (await planWith(waitOperation, { port: 8080 }, { 'server.listeningPorts': [22, 8080] }))
        .commands,
    ).toEqual([]);
    const wait = await planWith(
      waitOperation,
      { port: 8080, timeout: 2, interval: 0.5 },
      {
        'server.listeningPorts': [22],
      },
    );
    expect(wait.commands[0]).toMatch(/awk -v p=1F90 .*-ge 4 .*sleep 0\.5/);
    await expect(planWith(waitOperation, { port: 70000 }, {})).rejects.toThrow(
      /port 70000 is not a TCP port/,
    );
  });

  it('files.find builds its options quoted', () => {
    expect(String(findCommand({ path: '/etc', type: 'f', name: '*.conf', maxDepth: 1 }))).toBe(
      'p=/etc; if [ -e "$p" ]; then find "$p" -maxdepth 1 -type f -name \'*.conf\' -print; fi',
    );
    expect(() => findCommand({ path: '/', type: 'x' as never })).toThrow(/type "x"/);
  });
});
