import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  makeBecomeGetScript,
  makeBecomePutScript,
  makeRemoveScript,
  octalMode,
  usesBecome,
} from './become-files.js';
import { refuseNonRegularShell } from './file-kind.js';

describe('usesBecome', () => {
  it('is true for sudo, su and doas only', () => {
    expect(usesBecome({})).toBe(false);
    expect(usesBecome({ sudo: false, doas: false })).toBe(false);
    expect(usesBecome({ sudo: true })).toBe(true);
    expect(usesBecome({ doas: true })).toBe(true);
    expect(usesBecome({ suUser: 'root' })).toBe(true);
  });
});

describe('octalMode', () => {
  it('writes a mode the way chmod takes it', () => {
    expect(octalMode(0o644)).toBe('0644');
    expect(octalMode(0o4755)).toBe('04755');
    expect(octalMode(0)).toBe('00');
  });

  it('refuses what is not a mode', () => {
    expect(() => octalMode(-1)).toThrow(RangeError);
    expect(() => octalMode(0o10000)).toThrow(/not a file mode/);
    expect(() => octalMode(1.5)).toThrow(/not a file mode/);
  });
});

describe('makeBecomePutScript', () => {
  it('writes to a private temp file, chmods and moves it, with a trap that removes the temp', () => {
    const script = makeBecomePutScript({
      destPath: "/srv/it's here/a b.txt",
      tempPath: '/srv/x/.infra-1.tmp',
      mode: 0o600,
      createParents: false,
    }).getRawValue();
    expect(script).toBe(
      `d='/srv/it'"'"'s here/a b.txt'; ${refuseNonRegularShell('d')} ; t=/srv/x/.infra-1.tmp; trap 'rm -f "$t"' EXIT; trap 'exit 129' HUP INT TERM PIPE; umask 077 && cat > "$t" && chmod 0600 "$t" && mv -f "$t" "$d"`,
    );
  });

  it('refuses, run by sh, to replace a named pipe or a directory, and leaves no temp', () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-become-put-'));
    try {
      execFileSync('mkfifo', [join(dir, 'pipe')]);
      mkdirSync(join(dir, 'sub'));
      for (const name of ['pipe', 'sub']) {
        const dest = join(dir, name);
        const script = makeBecomePutScript({
          destPath: dest,
          tempPath: join(dir, '.temp'),
          mode: 0o644,
          createParents: false,
        }).getRawValue();
        const run = spawnSync('sh', ['-c', script], { input: 'bytes' });
        expect(run.status).toBe(1);
        expect(run.stderr.toString()).toContain(`"${dest}" is not a regular file`);
      }
      expect(readdirSync(dir).sort()).toEqual(['pipe', 'sub']);
      expect(statSync(join(dir, 'pipe')).isFIFO()).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the parent directories first when asked', () => {
    const script = makeBecomePutScript({
      destPath: '/srv/new dir/a.txt',
      tempPath: '/srv/new dir/.infra-2.tmp',
      mode: 0o644,
      createParents: true,
    }).getRawValue();
    expect(script).toContain(`mkdir -p '/srv/new dir' && umask 077`);
  });
});

describe('makeBecomeGetScript and makeRemoveScript', () => {
  it('quote the path', () => {
    expect(makeBecomeGetScript('/a\nb $c').getRawValue()).toBe(`cat '/a\nb $c'`);
    expect(makeRemoveScript('/tmp/-x y').getRawValue()).toBe(`rm -f '/tmp/-x y'`);
  });
});
