import { describe, expect, it } from 'vitest';
import { parseStat } from './facts/file-facts.js';
import { limitHosts, planInventory } from './inventory.js';
import { parseMode } from './operations/attributes.js';
import { applyLine } from './operations/files-operations.js';
import { resultsTable } from './runner.js';
import { lineDiff } from './text-diff.js';

describe('planInventory', () => {
  it('layers data as all < groups in order < host', () => {
    const hosts = planInventory(
      {
        all: { a: 'all', b: 'all', c: 'all' },
        groups: {
          web: { hosts: ['@local'], data: { b: 'web', c: 'web' } },
          eu: { hosts: [['@local', { c: 'host' }]], data: { b: 'eu' } },
        },
      },
      'test',
    );
    expect(hosts).toHaveLength(1);
    const [host] = hosts;
    expect(host?.groups).toEqual(['web', 'eu']);
    expect(Object.assign({}, ...(host?.layers ?? []))).toEqual({ a: 'all', b: 'eu', c: 'host' });
  });

  it('refuses unknown keys and bad hosts with a message naming them', () => {
    expect(() => planInventory({ host: [] }, 'inv.yaml')).toThrow(
      /key "host" should be one of hosts, groups, all/,
    );
    expect(() => planInventory({ groups: { web: { hosts: [42] } } }, 'inv.yaml')).toThrow(
      /groups\.web\.hosts\[0\] should be a connection string/,
    );
  });
});

describe('limitHosts', () => {
  const hosts = [
    { name: 'web1', groups: ['web'] },
    { name: 'web2', groups: ['web'] },
    { name: 'db1', groups: ['db'] },
  ];
  it('keeps a group or a glob, several limits as a union', () => {
    expect(limitHosts(hosts, ['db']).map((h) => h.name)).toEqual(['db1']);
    expect(limitHosts(hosts, ['web?']).map((h) => h.name)).toEqual(['web1', 'web2']);
    expect(limitHosts(hosts, ['db', 'web2']).map((h) => h.name)).toEqual(['web2', 'db1']);
    expect(() => limitHosts(hosts, ['nope'])).toThrow(/matches no group and no host name/);
  });

  it('takes classes as pyinfra fnmatch does, by the shared matcher, case-sensitive', () => {
    expect(limitHosts(hosts, ['web[12]']).map((h) => h.name)).toEqual(['web1', 'web2']);
    expect(limitHosts(hosts, ['[!w]*']).map((h) => h.name)).toEqual(['db1']);
    expect(() => limitHosts(hosts, ['WEB*'])).toThrow(/matches no group and no host name/);
    const odd = [{ name: '@docker:img.v1/x', groups: [] }];
    expect(limitHosts(odd, ['@docker:*']).map((h) => h.name)).toEqual(['@docker:img.v1/x']);
    expect(() => limitHosts(odd, ['@docker:img?v2*'])).toThrow(/matches no group/);
  });
});

describe('applyLine', () => {
  it('appends, replaces, removes, and leaves a file in state alone', () => {
    expect(applyLine('a\n', { path: 'f', line: '^b$' })).toBe('a\nb\n');
    expect(applyLine('a\nport=1\n', { path: 'f', line: '^port=', replace: 'port=2' })).toBe(
      'a\nport=2\n',
    );
    expect(applyLine('a\nport=2\n', { path: 'f', line: '^port=', replace: 'port=2' })).toBe(
      'a\nport=2\n',
    );
    expect(applyLine('a\nb\n', { path: 'f', line: '^b$', present: false })).toBe('a\n');
    expect(applyLine('a\n', { path: 'f', line: '^b$', present: false })).toBe('a\n');
  });
});

describe('small pieces', () => {
  it('parses modes as octal text or numbers and refuses others', () => {
    expect(parseMode('op', '644')).toBe(0o644);
    expect(parseMode('op', 0o755)).toBe(0o755);
    expect(() => parseMode('op', '999')).toThrow(/not a file mode/);
  });

  it('reads stat output', () => {
    expect(parseStat(['absent'])).toBeNull();
    expect(parseStat(['link', 'target', 'root|root'])).toEqual({
      type: 'link',
      target: 'target',
      user: 'root',
      group: 'root',
    });
    expect(parseStat(['file', '640|u|g|3|10', 'abc  /x'])).toMatchObject({
      type: 'file',
      mode: '640',
      sha256: 'abc',
    });
  });

  it('diffs lines', () => {
    expect(lineDiff('/f', Buffer.from('a\nb\n'), Buffer.from('a\nc\n'))).toBe(
      '--- /f\n+++ /f\n-b\n+c',
    );
  });

  it('counts results per operation', () => {
    const base = { operation: 'x', name: 'op', dry: false, commands: [], stdout: '', stderr: '' };
    expect(
      resultsTable([
        { ...base, host: 'a', status: 'changed', changed: true, success: true },
        { ...base, host: 'b', status: 'no-change', changed: false, success: true },
        { ...base, host: 'c', status: 'error', changed: false, success: false },
      ]),
    ).toEqual([
      { operation: 'op', hosts: 3, success: 2, changed: 1, noChange: 1, skipped: 0, error: 1 },
    ]);
  });

  it('counts an operation skipped by _if as skipped, not as no change', () => {
    const base = { operation: 'x', name: 'op', dry: false, commands: [], stdout: '', stderr: '' };
    expect(
      resultsTable([
        { ...base, host: 'a', status: 'skipped', changed: false, success: true },
        { ...base, host: 'b', status: 'no-change', changed: false, success: true },
      ]),
    ).toEqual([
      { operation: 'op', hosts: 2, success: 2, changed: 0, noChange: 1, skipped: 1, error: 0 },
    ]);
  });

  it('keeps rows in deploy order when a name differs per host', () => {
    const base = { operation: 'x', dry: false, commands: [], stdout: '', stderr: '' };
    const ok = { status: 'no-change', changed: false, success: true } as const;
    const rows = resultsTable([
      { ...base, ...ok, host: 'a', name: 'files.line /srv/a.conf' },
      { ...base, ...ok, host: 'a', name: 'restart' },
      { ...base, ...ok, host: 'b', name: 'files.line /srv/b.conf' },
      { ...base, ...ok, host: 'b', name: 'restart' },
    ]);
    expect(rows.map((row) => row.operation)).toEqual([
      'files.line /srv/a.conf',
      'files.line /srv/b.conf',
      'restart',
    ]);
  });
});
