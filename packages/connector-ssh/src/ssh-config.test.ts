import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matchPatternList, readSshConfig, splitConfigLine } from './ssh-config.js';

function configDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'infra-ssh-config-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('splitConfigLine', () => {
  it('splits words, honours quotes and Key=Value', () => {
    expect(splitConfigLine('HostName  example.com')).toEqual(['HostName', 'example.com']);
    expect(splitConfigLine('IdentityFile "/a path/key"')).toEqual(['IdentityFile', '/a path/key']);
    expect(splitConfigLine('Port=2222')).toEqual(['Port', '2222']);
    expect(splitConfigLine('Port = 2222')).toEqual(['Port', '2222']);
  });
});

describe('matchPatternList', () => {
  it('matches wildcards and refuses negated names', () => {
    expect(matchPatternList(['web*'], 'web1')).toBe(true);
    expect(matchPatternList(['web?'], 'web12')).toBe(false);
    expect(matchPatternList(['web*', '!web3'], 'web3')).toBe(false);
    expect(matchPatternList(['!web3'], 'web1')).toBe(false);
    expect(matchPatternList(['WEB1'], 'web1')).toBe(true);
  });
});

describe('readSshConfig', () => {
  it('takes the first value of a keyword and every IdentityFile in order', () => {
    const dir = configDir({
      config: [
        'Host web1',
        '  HostName 10.0.0.1',
        '  IdentityFile ~/.ssh/first',
        'Host web*',
        '  HostName 10.9.9.9',
        '  User deploy',
        '  Port 2222',
        '  IdentityFile ~/.ssh/second',
        'Host *',
        '  User nobody',
        '  IdentityAgent /run/agent.sock',
        '  StrictHostKeyChecking Accept-New',
        '  UserKnownHostsFile /a/known /b/known',
      ].join('\n'),
    });
    const config = readSshConfig(join(dir, 'config'), { host: 'web1' });
    expect(config.hostName).toBe('10.0.0.1');
    expect(config.user).toBe('deploy');
    expect(config.port).toBe(2222);
    expect(config.identityFiles).toEqual(['~/.ssh/first', '~/.ssh/second']);
    expect(config.identityAgent).toBe('/run/agent.sock');
    expect(config.strictHostKeyChecking).toBe('accept-new');
    expect(config.userKnownHostsFiles).toEqual(['/a/known', '/b/known']);
    expect(readSshConfig(join(dir, 'config'), { host: 'db1' }).user).toBe('nobody');
  });

  it('selects Match host (after HostName) and Match user blocks', () => {
    const dir = configDir({
      config: [
        'Host alias',
        '  HostName real.example.com',
        'Match host real.example.com user admin',
        '  Port 2200',
        'Match host *.example.com !user admin',
        '  Port 2300',
        'Match originalhost alias',
        '  ProxyJump none',
      ].join('\n'),
    });
    const file = join(dir, 'config');
    expect(readSshConfig(file, { host: 'alias', user: 'admin' }).port).toBe(2200);
    expect(readSshConfig(file, { host: 'alias', user: 'other' }).port).toBe(2300);
    expect(readSshConfig(file, { host: 'alias' }).proxyJump).toBe('none');
    expect(readSshConfig(file, { host: 'elsewhere' }).port).toBeUndefined();
  });

  it('never runs Match exec unless allowed, and reports what it skipped', () => {
    const dir = configDir({});
    const marker = join(dir, 'ran');
    writeFileSync(join(dir, 'config'), `Match exec "touch ${marker}"\n  Port 2022\n`);
    const skipped = readSshConfig(join(dir, 'config'), { host: 'h' });
    expect(skipped.port).toBeUndefined();
    expect(skipped.skippedMatchExec).toHaveLength(1);
    const allowed = readSshConfig(join(dir, 'config'), { host: 'h', allowMatchExec: true });
    expect(allowed.port).toBe(2022);
  });

  it('follows Include (globs, relative to the include base), only inside matching blocks', () => {
    const dir = configDir({
      'conf.d/10-web.conf': 'Host web1\n  Port 2001\n',
      'conf.d/20-all.conf': 'Host *\n  User included\n',
      'other.conf': 'Port 3003\n',
      config: ['Include conf.d/*.conf', 'Host db1', '  Include other.conf'].join('\n'),
    });
    const file = join(dir, 'config');
    const web = readSshConfig(file, { host: 'web1', includeBase: dir });
    expect(web.port).toBe(2001);
    expect(web.user).toBe('included');
    expect(readSshConfig(file, { host: 'db1', includeBase: dir }).port).toBe(3003);
    expect(readSshConfig(file, { host: 'web2', includeBase: dir }).port).toBeUndefined();
  });

  it('names the file and line of a bad value', () => {
    const dir = configDir({ config: 'Host x\n  Port many\n' });
    expect(() => readSshConfig(join(dir, 'config'), { host: 'x' })).toThrow(
      /config:2: Port "many"/,
    );
  });
});
