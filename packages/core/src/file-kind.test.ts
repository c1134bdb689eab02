import { describe, expect, it } from 'vitest';
import { describeFileKind, isRegularFileMode, NotRegularFileError } from './file-kind.js';

describe('describeFileKind', () => {
  it('names each kind of file by its st_mode', () => {
    expect(describeFileKind(0o100644)).toBe('a regular file');
    expect(describeFileKind(0o040755)).toBe('a directory');
    expect(describeFileKind(0o020666)).toBe('a character device');
    expect(describeFileKind(0o060660)).toBe('a block device');
    expect(describeFileKind(0o010644)).toBe('a named pipe');
    expect(describeFileKind(0o140777)).toBe('a socket');
    expect(describeFileKind(0o120777)).toBe('a symbolic link');
    expect(isRegularFileMode(0o100600)).toBe(true);
    expect(isRegularFileMode(0o020666)).toBe(false);
  });

  it('makes an error that names the path, what it is and what to do', () => {
    const error = new NotRegularFileError('/dev/null', 'a character device', 'web1');
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toBe(
      '"/dev/null" is a character device, not a regular file (on web1): a put replaces only regular files. Remove it first, or put the file at another path.',
    );
  });
});
