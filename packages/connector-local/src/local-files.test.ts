import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultFileMode, describeFsError, tempPathBeside } from './local-files.js';

describe('tempPathBeside', () => {
  it('is a fresh hidden name in the same directory', () => {
    const first = tempPathBeside("/srv/it's/file name\n.txt");
    const second = tempPathBeside("/srv/it's/file name\n.txt");
    expect(dirname(first)).toBe("/srv/it's");
    expect(first).toMatch(/\/\.infra-[0-9a-f]{16}\.tmp$/);
    expect(first).not.toBe(second);
  });
});

describe('defaultFileMode', () => {
  it('is 0666 less the umask, and leaves the umask as it was', () => {
    const before = process.umask();
    expect(defaultFileMode()).toBe(0o666 & ~before);
    expect(process.umask()).toBe(before);
  });
});

describe('describeFsError', () => {
  it('says what common errno codes mean', () => {
    const error = (code: string) => Object.assign(new Error(`${code}: raw`), { code });
    expect(describeFsError(error('ENOENT'))).toBe('no such file or directory');
    expect(describeFsError(error('EACCES'))).toBe('permission denied');
    expect(describeFsError(error('EISDIR'))).toBe('it is a directory');
    expect(describeFsError(error('EXDEV'))).toBe('EXDEV: raw');
    expect(describeFsError('plain')).toBe('plain');
  });
});
