import { describe, expect, it } from 'vitest';
import { patternBase } from '../facts/tree-facts.js';
import { sshRemote } from './git-operations.js';
import { globMatcher, globToRegExp } from './glob.js';

describe('globs', () => {
  it('* and ? stop at a slash, ** crosses folders, [..] is a class', () => {
    expect(globToRegExp('*.txt').test('a.txt')).toBe(true);
    expect(globToRegExp('*.txt').test('d/a.txt')).toBe(false);
    expect(globToRegExp('**/*.txt').test('d/e/a.txt')).toBe(true);
    expect(globToRegExp('**/*.txt').test('a.txt')).toBe(true);
    expect(globToRegExp('f?.[ab]').test('f1.b')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });

  it('a matcher tries the relative path and the base name', () => {
    const excluded = globMatcher(['*.tmp', 'build/**']);
    expect(excluded('deep/down/x.tmp')).toBe(true);
    expect(excluded('build/out/x.js')).toBe(true);
    expect(excluded('src/x.js')).toBe(false);
  });

  it('a wildcard path splits into the folder to search and the depth', () => {
    expect(patternBase('/var/log/*.log')).toEqual({ base: '/var/log', depth: 1 });
    expect(patternBase('/srv/*/conf/*.json')).toEqual({ base: '/srv', depth: 3 });
    expect(patternBase('/srv/**/*.json')).toEqual({ base: '/srv', depth: undefined });
  });
});

describe('sshRemote', () => {
  it('reads the host and port of ssh remotes only', () => {
    expect(sshRemote('ssh://git@example.com:2222/x/y.git')).toEqual({
      hostname: 'example.com',
      port: 2222,
    });
    expect(sshRemote('git@github.com:org/repo.git')).toEqual({ hostname: 'github.com', port: 22 });
    expect(sshRemote('ssh://[::1]/repo.git')).toEqual({ hostname: '::1', port: 22 });
    expect(sshRemote('https://example.com/repo.git')).toBeUndefined();
    expect(sshRemote('file:///srv/repo.git')).toBeUndefined();
    expect(sshRemote('/srv/repo.git')).toBeUndefined();
  });
});
