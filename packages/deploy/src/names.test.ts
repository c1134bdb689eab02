import { describe, expect, it } from 'vitest';
import { closestName } from './closest-name.js';
import { nameTree } from './names.js';

describe('closestName', () => {
  it('finds a typo, not an unrelated name', () => {
    const known = ['files.directory', 'files.file', 'server.shell'];
    expect(closestName('files.dirctory', known)).toBe('files.directory');
    expect(closestName('server.shel', known)).toBe('server.shell');
    expect(closestName('apt.packages', known)).toBeUndefined();
  });
});

describe('nameTree', () => {
  const tree = nameTree(
    'operation',
    [{ name: 'files.put' }, { name: 'git.repo' }],
    (spec) => spec.name,
  );

  it('nests dotted names', () => {
    expect(tree.files?.put).toBe('files.put');
    expect(Object.keys(tree)).toEqual(['files', 'git']);
  });

  it('throws with the closest name on a miss, and leaves probes alone', () => {
    expect(() => tree.files?.pt).toThrow(/No operation files\.pt; did you mean files\.put\?/);
    expect(() => tree.gti).toThrow(/No operation group gti; did you mean git\?/);
    expect((tree as Record<string, unknown>).then).toBeUndefined();
    expect(JSON.stringify(tree)).toBe('{"files":{"put":"files.put"},"git":{"repo":"git.repo"}}');
  });

  it('binds a module’s members on first use only, once', () => {
    const bound: string[] = [];
    const lazy = nameTree('operation', [{ name: 'files.put' }, { name: 'git.repo' }], (spec) => {
      bound.push(spec.name);
      return spec.name;
    });
    expect(bound).toEqual([]);
    expect(lazy.git?.repo).toBe('git.repo');
    expect(lazy.git?.repo).toBe('git.repo');
    expect(bound).toEqual(['git.repo']);
    expect(Object.keys(lazy)).toEqual(['files', 'git']);
  });

  it('refuses two specs with one name', () => {
    expect(() => nameTree('fact', [{ name: 'a.b' }, { name: 'a.b' }], () => 1)).toThrow(
      /Two facts are named a\.b/,
    );
  });
});
