import { describe, expect, it } from 'vitest';
import { parseCrontab } from '../facts/crontab-facts.js';
import { crontabLine, editCrontab } from './crontab-operations.js';

describe('crontab.crontab', () => {
  it('keeps other lines, settings and comments as they are', () => {
    const lines = ['MAILTO=ops@example.com', '# mine', '0 * * * * /bin/a', '', '5 1 * * * /bin/b'];
    expect(editCrontab(lines, { command: '/bin/b', minute: 5, hour: 2 })).toEqual([
      'MAILTO=ops@example.com',
      '# mine',
      '0 * * * * /bin/a',
      '',
      '5 2 * * * /bin/b',
    ]);
    expect(editCrontab(lines, { command: '/bin/a', minute: '0' })).toBeNull();
    expect(editCrontab(lines, { command: '/bin/c', cronName: 'c', present: false })).toBeNull();
    expect(parseCrontab(lines).map((e) => e.command)).toEqual(['/bin/a', '/bin/b']);
  });

  it('names bad fields', () => {
    expect(() => crontabLine({ command: 'x', minute: '1; rm -rf /' })).toThrow(
      /minute "1; rm -rf \/" is not a cron time field/,
    );
    expect(() => crontabLine({ command: 'x', specialTime: '@often' })).toThrow(
      /specialTime "@often": expected one of @reboot/,
    );
    expect(() => crontabLine({ command: 'a\nb' })).toThrow(/must be one line/);
  });
});
