import { describe, expect, it } from 'vitest';
import { parseSystemdUnits, whichFact } from './systemd-facts.js';

describe('systemd.units', () => {
  it('merges list-units with list-unit-files', () => {
    const lines = [
      'systemd-journald.service           loaded active running Journal Service',
      '● broken.service                   loaded failed failed  A failing unit',
      'cron.service                       not-found inactive dead cron.service',
      'sockets.target                     loaded active active  Socket Units',
      '--infra-unit-files--',
      'systemd-journald.service                   static          -',
      'broken.service                             enabled         enabled',
      'getty@.service                             enabled         enabled',
      'infra-demo.service                         disabled        enabled',
    ];
    expect(parseSystemdUnits(lines)).toEqual({
      'systemd-journald.service': {
        load: 'loaded',
        active: 'active',
        sub: 'running',
        unitFileState: 'static',
      },
      'broken.service': {
        load: 'loaded',
        active: 'failed',
        sub: 'failed',
        unitFileState: 'enabled',
      },
      'cron.service': { load: 'not-found', active: 'inactive', sub: 'dead', unitFileState: null },
      'sockets.target': { load: 'loaded', active: 'active', sub: 'active', unitFileState: null },
      'getty@.service': { load: null, active: 'inactive', sub: 'dead', unitFileState: 'enabled' },
      'infra-demo.service': {
        load: null,
        active: 'inactive',
        sub: 'dead',
        unitFileState: 'disabled',
      },
    });
  });

  it('server.which quotes the command name', () => {
    expect(String(whichFact.command({ command: "a'b" }))).toBe(`command -v 'a'"'"'b' || true`);
  });
});
