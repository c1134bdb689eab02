import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CommandOutput } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { matchingFact, patternBase } from '../facts/tree-facts.js';
import { sshRemote } from './git-operations.js';
import { globMatcher } from './glob.js';

describe('globs', () => {
  it('sync excludes: * and ? stop at a slash, ** crosses folders, [..] is a class', () => {
    const matches = (glob: string, path: string) => globMatcher([glob])(path);
    expect(matches('*.txt', 'a.txt')).toBe(true);
    expect(matches('d/*.txt', 'd/e/a.txt')).toBe(false);
    expect(matches('**/*.txt', 'd/e/a.txt')).toBe(true);
    expect(matches('d/**/*.txt', 'd/a.txt')).toBe(true);
    expect(matches('f?.[ab]', 'f1.b')).toBe(true);
    expect(matches('a.b', 'axb')).toBe(false);
    // The shared matcher: a leading ] is a class member, and ** crosses a line break in a name.
    expect(matches('[]x]*', ']one')).toBe(true);
    expect(matches('d/**', 'd/odd\nname/f')).toBe(true);
  });

  it('files.get with a wildcard keeps what the glob matches, not what find -path lets through', () => {
    const root = mkdtempSync(join(tmpdir(), 'infra-glob-'));
    try {
      for (const path of ['conf/a.json', 'x/conf/b.json', 'myconf/c.json', 'x/conf/deep/d.json']) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), path);
      }
      const pattern = `${root}/**/conf/*.json`;
      const stdout = execFileSync('sh', ['-c', String(matchingFact.command({ pattern }))], {
        encoding: 'utf8',
      });
      const output = new CommandOutput(
        stdout
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => ({ stream: 'stdout' as const, line })),
        0,
      );
      const found = Object.keys(matchingFact.parse(output, { pattern })).sort();
      expect(found).toEqual([`${root}/conf/a.json`, `${root}/x/conf/b.json`]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
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
