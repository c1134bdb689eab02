import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import { serviceOperation, unitName } from './systemd-operations.js';

const units = {
  'nginx.service': { load: 'loaded', active: 'active', sub: 'running', unitFileState: 'enabled' },
  'cron.service': { load: 'loaded', active: 'inactive', sub: 'dead', unitFileState: 'disabled' },
  'backup.timer': { load: null, active: 'inactive', sub: 'dead', unitFileState: 'disabled' },
};

async function commandsFor(args: Parameters<typeof serviceOperation.plan>[1]) {
  return (await planWith(serviceOperation, args, { 'systemd.units': units })).commands;
}

describe('systemd.service', () => {
  it('adds .service unless the name has a unit suffix', () => {
    expect(unitName('nginx')).toBe('nginx.service');
    expect(unitName('backup.timer')).toBe('backup.timer');
  });

  it('starts, stops and enables only when the state differs', async () => {
    expect(await commandsFor({ service: 'nginx', running: true, enabled: true })).toEqual([]);
    expect(await commandsFor({ service: 'cron', running: true, enabled: true })).toEqual([
      'systemctl start cron.service',
      'systemctl enable cron.service',
    ]);
    expect(await commandsFor({ service: 'nginx', running: false, enabled: 'false' })).toEqual([
      'systemctl stop nginx.service',
      'systemctl disable nginx.service',
    ]);
    expect(await commandsFor({ service: 'backup.timer', enabled: true })).toEqual([
      'systemctl enable backup.timer',
    ]);
  });

  it('restarts and reloads every time, but not right after starting', async () => {
    expect(await commandsFor({ service: 'nginx', restarted: true })).toEqual([
      'systemctl restart nginx.service',
    ]);
    expect(await commandsFor({ service: 'nginx', reloaded: true, daemonReload: true })).toEqual([
      'systemctl daemon-reload',
      'systemctl reload nginx.service',
    ]);
    expect(await commandsFor({ service: 'cron', running: true, restarted: true })).toEqual([
      'systemctl start cron.service',
    ]);
  });

  it('names a unit systemd does not know, except in the plan pass', async () => {
    await expect(commandsFor({ service: 'nope', running: true })).rejects.toThrow(
      /nope\.service is not a unit systemd knows on unit-host/,
    );
    const dry = await planWith(
      serviceOperation,
      { service: 'nope', running: true },
      { 'systemd.units': units },
      { dry: true },
    );
    expect(dry.commands).toEqual(['systemctl start nope.service']);
  });
});

// biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not JavaScript's.
const USER = 'XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/run/user/$(id -u)}" systemctl --user';

describe('systemd user mode', () => {
  it('puts --user (and --machine for userName) on every systemctl', async () => {
    const { serviceCommands } = await import('./systemd-operations.js');
    const found = { load: 'loaded', active: 'inactive', sub: 'dead', unitFileState: 'disabled' };
    expect(
      serviceCommands('a.service', found, { userMode: true, running: true, enabled: true }).map(
        String,
      ),
    ).toEqual([`${USER} start a.service`, `${USER} enable a.service`]);
    expect(
      serviceCommands('a.service', found, {
        userMode: true,
        userName: 'app',
        daemonReload: true,
      }).map(String),
    ).toEqual(['systemctl --user --machine=app@.host daemon-reload']);
  });
});
