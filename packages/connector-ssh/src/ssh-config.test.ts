import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  listSshConfigHosts,
  matchPatternList,
  readSshConfig,
  splitConfigLine,
} from './ssh-config.js';

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
    // OpenSSH has no [classes]: a bracket is a bracket.
    expect(matchPatternList(['web[12]'], 'web1')).toBe(false);
    expect(matchPatternList(['web[12]'], 'web[12]')).toBe(true);
  });

  it('gives the same answers when a compiled pattern is reused for other names', () => {
    const names = ['db1', 'web1', 'WEB2', 'web1.example', 'xweb1', 'web', 'web1', 'db1'];
    const expected = [false, true, true, true, false, true, true, false];
    for (let round = 0; round < 2; round++) {
      expect(names.map((name) => matchPatternList(['web*', '!*.internal'], name))).toEqual(
        expected,
      );
    }
    expect(matchPatternList(['web*', '!*.internal'], 'web1.internal')).toBe(false);
    expect(matchPatternList(['!*.internal', 'web*'], 'web9')).toBe(true);
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

  it('reads Match canonical / final only on a final pass that a Match final asks for', () => {
    const dir = configDir({
      // No `Match final`: `canonical` never matches, `!canonical` always does.
      plain: ['Match canonical', '  Port 2001', 'Match !canonical', '  User first-pass'].join('\n'),
      final: [
        'Host alias',
        '  HostName real.example.com',
        '  IdentityFile ~/.ssh/one',
        'Match final host real.example.com',
        '  User final-user',
        '  Port 2002',
        '  IdentityFile ~/.ssh/two',
        'Match !final',
        '  ProxyJump first-pass-jump',
        'Match canonical',
        '  ProxyCommand canonical-on-final-pass',
        'Host *',
        '  Port 2200',
      ].join('\n'),
      negated: ['Match !final', '  User not-final', 'Match canonical', '  Port 2003'].join('\n'),
    });
    const plain = readSshConfig(join(dir, 'plain'), { host: 'h' });
    expect(plain.port).toBeUndefined();
    expect(plain.user).toBe('first-pass');

    const final = readSshConfig(join(dir, 'final'), { host: 'alias' });
    // The first pass set Port 2200 (Host *) before the final pass saw 2002: first value wins.
    expect(final.port).toBe(2200);
    // User was unset after the first pass: the final pass sets it; `Match host` saw HostName.
    expect(final.user).toBe('final-user');
    expect(final.proxyJump).toBe('first-pass-jump');
    expect(final.proxyCommand).toBe('canonical-on-final-pass');
    // IdentityFile accumulates once per file, not once per pass.
    expect(final.identityFiles).toEqual(['~/.ssh/one', '~/.ssh/two']);
    // Another host: `Match final host real.example.com` does not match it.
    expect(readSshConfig(join(dir, 'final'), { host: 'other' }).user).toBeUndefined();

    // Only a non-negated `Match final` asks for the final pass.
    const negated = readSshConfig(join(dir, 'negated'), { host: 'h' });
    expect(negated.user).toBe('not-final');
    expect(negated.port).toBeUndefined();
  });

  it('makes a final pass when CanonicalizeHostname is on (without canonicalising)', () => {
    const dir = configDir({
      config: ['CanonicalizeHostname yes', 'Match canonical', '  Port 2004'].join('\n'),
    });
    expect(readSshConfig(join(dir, 'config'), { host: 'h' }).port).toBe(2004);
  });
});

describe('listSshConfigHosts', () => {
  it('lists concrete Host names in order, follows every Include, skips patterns', () => {
    const dir = configDir({
      'conf.d/10-db.conf': 'Host db1 db2\n  Port 2001\nHost db*\n  User dba\n',
      'conf.d/20-web.conf': 'Host web3 !web4 web?.example\n',
      'inner.conf': 'Host inner1\n',
      config: [
        'Host web1 web2',
        '  User deploy',
        'Host *',
        '  ServerAliveInterval 10',
        'Include conf.d/*.conf',
        'Host bastion',
        '  Include inner.conf',
        'Match host web1',
        '  Port 22',
        'Host WEB1',
      ].join('\n'),
    });
    const hosts = listSshConfigHosts(join(dir, 'config'), { includeBase: dir });
    expect(hosts.map((h) => h.name)).toEqual([
      'web1',
      'web2',
      'db1',
      'db2',
      'web3',
      'bastion',
      'inner1',
    ]);
    expect(hosts[2]!.where).toBe(`${join(dir, 'conf.d/10-db.conf')}:1`);
  });

  it('names a missing file', () => {
    expect(() => listSshConfigHosts('/nonexistent/ssh_config')).toThrow(
      /Cannot read ssh_config file \/nonexistent\/ssh_config/,
    );
  });
});
