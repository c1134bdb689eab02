import { describe, expect, it } from 'vitest';
import { parseTree } from '../facts/tree-facts.js';
import { authorizedKeysText, keyIdentity } from './ssh-operations.js';

const A = 'ssh-ed25519 AAAAa one@a';
const B = 'ssh-rsa BBBBb two@b';

describe('authorized keys', () => {
  it('a key is its type and body, whatever its options and comment', () => {
    expect(keyIdentity('from="10.0.0.1" ssh-ed25519 AAAAa other comment')).toBe(
      'ssh-ed25519 AAAAa',
    );
    expect(keyIdentity('# a comment')).toBeUndefined();
  });

  it('adds missing keys, keeps others; deleteKeys keeps only the given ones', () => {
    const current = `# keep me\n${A}\n`;
    expect(authorizedKeysText(current, ['ssh-ed25519 AAAAa renamed', B], false)).toBe(
      `# keep me\n${A}\n${B}\n`,
    );
    expect(authorizedKeysText(current, [B], true)).toBe(`${B}\n`);
    expect(authorizedKeysText('', [], true)).toBe('');
  });
});

describe('parseTree', () => {
  it('reads types, modes, owners and hashes; notes tar; null entries when absent', () => {
    const sha = 'a'.repeat(64);
    expect(
      parseTree([
        'tar',
        'present',
        'directory|755|root|root|./sub',
        'regular file|644|app|app|./sub/x|y.txt',
        'regular empty file|600|app|app|./e',
        'symbolic link|777|root|root|./l',
        '--infra-sha256--',
        `${sha}  ./sub/x|y.txt`,
      ]),
    ).toEqual({
      tar: true,
      entries: {
        sub: { type: 'directory', mode: '755', user: 'root', group: 'root' },
        'sub/x|y.txt': { type: 'file', mode: '644', user: 'app', group: 'app', sha256: sha },
        e: { type: 'file', mode: '600', user: 'app', group: 'app' },
        l: { type: 'link', mode: '777', user: 'root', group: 'root' },
      },
    });
    expect(parseTree([])).toEqual({ tar: false, entries: null });
  });
});
