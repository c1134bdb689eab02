import { describe, expect, it } from 'vitest';
import * as ours from './command.js';
import { maskHostData } from './connector-data.js';
import { makeUnixCommand } from './unix-command.js';

// A second copy of the module, as a bundled CLI holds beside the connectors it imports at run
// time: the same source under another URL is another module instance with its own classes.
const other = (await import('./command.js?copy=second')) as typeof ours;

describe('command brands across two copies of @infra/core', () => {
  it('loads a real second copy: its classes are not ours', () => {
    expect(other.MaskString).not.toBe(ours.MaskString);
    expect(new other.MaskString('x') instanceof ours.MaskString).toBe(false);
  });

  it('recognises the other copy’s values by brand, and nothing else', () => {
    const secret = new other.MaskString('s3cret');
    const quoted = new other.QuoteString('a b');
    const command = other.StringCommand.of('echo', quoted);
    expect(ours.MaskString.is(secret)).toBe(true);
    expect(ours.QuoteString.is(quoted)).toBe(true);
    expect(ours.StringCommand.is(command)).toBe(true);
    expect(ours.MaskString.is(quoted)).toBe(false);
    expect(ours.StringCommand.is(secret)).toBe(false);
    for (const value of [null, undefined, 'text', 1, {}, { render: () => '' }]) {
      expect(ours.MaskString.is(value)).toBe(false);
      expect(ours.QuoteString.is(value)).toBe(false);
      expect(ours.StringCommand.is(value)).toBe(false);
    }
  });

  it('finds a secret of the other copy, however deep', () => {
    const secret = new other.MaskString('s3cret');
    expect(ours.StringCommand.of('echo', secret).hasSecrets()).toBe(true);
    expect(ours.StringCommand.of('echo', new other.QuoteString(secret)).hasSecrets()).toBe(true);
    const nested = other.StringCommand.of('x', new other.QuoteString(secret));
    expect(ours.StringCommand.of(new ours.QuoteString(nested)).hasSecrets()).toBe(true);
  });

  it('inserts the other copy’s command in sh`` as is, and quotes its secret masked', () => {
    const inner = other.sh`ls ${'a b'}`;
    const built = ours.sh`sudo ${inner} ${new other.MaskString('p w')}`;
    expect(built.getRawValue()).toBe("sudo ls 'a b' 'p w'");
    expect(String(built)).toBe("sudo ls 'a b' '***'");
    expect(built.toBuffer().toString()).toBe("sudo ls 'a b' 'p w'");
  });

  it('masks the other copy’s secrets in env and host data, sends them raw', () => {
    const command = makeUnixCommand('env', { env: { TOKEN: new other.MaskString('t0k en') } });
    expect(command.getRawValue()).toContain("'TOKEN=t0k en'");
    expect(String(command)).not.toContain('t0k');
    expect(maskHostData({ token: new other.MaskString('t') }, [])).toEqual({ token: '***' });
  });
});
