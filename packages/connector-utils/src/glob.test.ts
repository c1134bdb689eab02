import { describe, expect, it } from 'vitest';
import { globToRegExp, matchGlob } from './glob.js';

describe('matchGlob', () => {
  it('matches *, ? and classes against the whole text', () => {
    expect(matchGlob('api-*', 'api-1')).toBe(true);
    expect(matchGlob('api-*', 'xapi-1')).toBe(false);
    expect(matchGlob('web?', 'web1')).toBe(true);
    expect(matchGlob('web?', 'web12')).toBe(false);
    expect(matchGlob('web[0-3]', 'web2')).toBe(true);
    expect(matchGlob('web[!0-3]', 'web2')).toBe(false);
    expect(matchGlob('a.b(c)+', 'a.b(c)+')).toBe(true);
    expect(matchGlob('a.b', 'axb')).toBe(false);
  });

  it('keeps * and ? inside one path part with a separator', () => {
    expect(matchGlob('/etc/*.conf', '/etc/a.conf', { separator: '/' })).toBe(true);
    expect(matchGlob('/etc/*.conf', '/etc/x/a.conf', { separator: '/' })).toBe(false);
    expect(globToRegExp('[').test('[')).toBe(true);
    expect(matchGlob('src/**/*.ts', 'src/a/b/c.ts', { separator: '/' })).toBe(true);
    expect(matchGlob('src/**/*.ts', 'src/c.ts', { separator: '/' })).toBe(true);
    expect(matchGlob('src/**', 'src/a/b', { separator: '/' })).toBe(true);
  });

  it('matches host names in either case when asked (ssh_config Host patterns)', () => {
    expect(matchGlob('*.Example.com', 'web1.example.COM', { caseInsensitive: true })).toBe(true);
    expect(matchGlob('*.Example.com', 'web1.example.COM')).toBe(false);
  });

  it('takes brackets literally with classes: false (OpenSSH patterns)', () => {
    const openssh = { caseInsensitive: true, classes: false };
    expect(matchGlob('web[1]*', 'WEB[1].example', openssh)).toBe(true);
    expect(matchGlob('web[1]*', 'web1.example', openssh)).toBe(false);
    expect(matchGlob('web[1]*', 'web1.example')).toBe(true);
  });

  it('answers by the options given, whatever the same glob was matched with before', () => {
    expect(matchGlob('a*', 'a/b', { separator: '/' })).toBe(false);
    expect(matchGlob('a*', 'a/b')).toBe(true);
    expect(matchGlob('a*', 'A/b', { caseInsensitive: true })).toBe(true);
    expect(matchGlob('a*', 'A/b', { caseInsensitive: true, separator: '/' })).toBe(false);
  });
});
