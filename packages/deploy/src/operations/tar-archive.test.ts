import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fitsTar, tarArchive } from './tar-archive.js';

describe('tarArchive', () => {
  it('writes an archive tar extracts: paths, long paths with a prefix, modes, bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-tar-'));
    try {
      const long = `${'a'.repeat(90)}/${'b'.repeat(90)}/file.txt`;
      const archive = tarArchive([
        { path: 'x.txt', mode: 0o644, content: Buffer.from('x\n') },
        { path: 'sub/run.sh', mode: 0o755, content: Buffer.from('#!/bin/sh\n') },
        { path: long, mode: 0o600, content: Buffer.alloc(1500, 7) },
        { path: 'empty', mode: 0o644, content: Buffer.alloc(0) },
      ]);
      writeFileSync(join(dir, 'a.tar'), archive);
      execFileSync('tar', ['-xof', 'a.tar'], { cwd: dir });
      expect(readFileSync(join(dir, 'x.txt'), 'utf8')).toBe('x\n');
      expect(statSync(join(dir, 'sub', 'run.sh')).mode & 0o777).toBe(0o755);
      expect(readFileSync(join(dir, long))).toEqual(Buffer.alloc(1500, 7));
      expect(statSync(join(dir, 'empty')).size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which paths do not fit a ustar header', () => {
    expect(fitsTar('a/b')).toBe(true);
    expect(fitsTar('c'.repeat(101))).toBe(false);
  });
});
