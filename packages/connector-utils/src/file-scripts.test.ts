import { execFile, execFileSync } from 'node:child_process';
import { chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isInfraTempName,
  makeInstallScript,
  makeReadScript,
  makeRemoveScript,
  octalMode,
  tempPathBeside,
} from './file-scripts.js';
import { usesBecome } from './shell-invocation.js';

/** Run a built script with /bin/sh, feeding stdin. */
function runScript(script: string, stdin: Buffer): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('/bin/sh', ['-c', script], (error, _stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stderr });
    });
    // A script that refuses its target exits without reading stdin: EPIPE here is expected.
    child.stdin?.on('error', () => {});
    child.stdin?.end(stdin);
  });
}

describe('file scripts', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-rest-scripts-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('knows become arguments and modes', () => {
    expect(usesBecome({})).toBe(false);
    expect(usesBecome({ sudo: true })).toBe(true);
    expect(usesBecome({ suUser: 'root' })).toBe(true);
    expect(octalMode(0o640)).toBe('0640');
    expect(() => octalMode(0o10000)).toThrow(/not a file mode/);
    expect(() => octalMode(-1)).toThrow(RangeError);
    expect(() => octalMode(1.5)).toThrow(/not a file mode/);
    const temp = tempPathBeside('/etc/a b.conf');
    expect(temp).toMatch(/^\/etc\/\.a b\.conf\.infra-[0-9a-f]{12}\.tmp$/);
    expect(isInfraTempName(temp)).toBe(true);
    expect(tempPathBeside(`/x/${'n'.repeat(250)}`)).toMatch(/^\/x\/\.infra-[0-9a-f]{12}\.tmp$/);
  });

  it('installs stdin atomically with the given mode, odd names included', async () => {
    const dest = join(dir, `it's "odd"\nünï $HOME.bin`);
    const script = makeInstallScript({
      destPath: dest,
      tempPath: tempPathBeside(dest),
      mode: 0o600,
      createParents: false,
    });
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13]);
    expect(await runScript(script.getRawValue(), bytes)).toEqual({ code: 0, stderr: '' });
    expect(await readFile(dest)).toEqual(bytes);
    expect((await stat(dest)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual([`it's "odd"\nünï $HOME.bin`]);
    await rm(dest);
  });

  it('keeps an existing mode when none is given, and creates parents', async () => {
    const existing = join(dir, 'keep.txt');
    await writeFile(existing, 'old', { mode: 0o751 });
    const keep = makeInstallScript({
      destPath: existing,
      tempPath: tempPathBeside(existing),
      mode: undefined,
      createParents: false,
    });
    expect((await runScript(keep.getRawValue(), Buffer.from('new'))).code).toBe(0);
    expect((await stat(existing)).mode & 0o777).toBe(0o751);
    expect(await readFile(existing, 'utf8')).toBe('new');

    const nested = join(dir, 'a', 'b', 'new.txt');
    const make = makeInstallScript({
      destPath: nested,
      tempPath: tempPathBeside(nested),
      mode: undefined,
      createParents: true,
    });
    expect((await runScript(make.getRawValue(), Buffer.from('x'))).code).toBe(0);
    const umask = process.umask();
    expect((await stat(nested)).mode & 0o777).toBe(0o666 & ~umask);
  });

  it('fails, leaving no temp file, when the target is missing its directory or is a directory', async () => {
    const missing = join(dir, 'missing-dir', 'f');
    const script = makeInstallScript({
      destPath: missing,
      tempPath: tempPathBeside(missing),
      mode: 0o644,
      createParents: false,
    });
    const result = await runScript(script.getRawValue(), Buffer.from('x'));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('missing-dir');

    const target = join(dir, 'a-dir');
    await mkdir(target);
    const onDir = makeInstallScript({
      destPath: target,
      tempPath: tempPathBeside(target),
      mode: 0o644,
      createParents: false,
    });
    const refused = await runScript(onDir.getRawValue(), Buffer.from('x'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`"${target}" is not a regular file`);
    expect((await readdir(dir)).filter((name) => name.includes('infra-'))).toEqual([]);
    expect(await readdir(target)).toEqual([]);
  });

  it('refuses to replace a named pipe, leaving it and no temp file', async () => {
    const pipe = join(dir, 'a-pipe');
    execFileSync('mkfifo', [pipe]);
    const script = makeInstallScript({
      destPath: pipe,
      tempPath: tempPathBeside(pipe),
      mode: 0o644,
    });
    const refused = await runScript(script.getRawValue(), Buffer.from('x'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`"${pipe}" is not a regular file`);
    expect((await readdir(dir)).filter((name) => name.includes('infra-'))).toEqual([]);
    expect((await stat(pipe)).isFIFO()).toBe(true);
    await rm(pipe);
  });

  it('quotes the path of the read and remove scripts', () => {
    expect(makeReadScript('/a\nb $c').getRawValue()).toBe(`cat '/a\nb $c'`);
    expect(makeRemoveScript('/tmp/-x y').getRawValue()).toBe(`rm -f '/tmp/-x y'`);
  });

  it('keeps the owner of the file it replaces (as root)', async () => {
    if (process.getuid?.() !== 0) return;
    const owned = join(dir, 'owned.txt');
    await writeFile(owned, 'old', { mode: 0o640 });
    await chown(owned, 12345, 12346);
    const script = makeInstallScript({ destPath: owned, tempPath: tempPathBeside(owned) });
    expect(await runScript(script.getRawValue(), Buffer.from('new'))).toEqual({
      code: 0,
      stderr: '',
    });
    const after = await stat(owned);
    expect([after.uid, after.gid, after.mode & 0o7777]).toEqual([12345, 12346, 0o640]);
    await rm(owned);
  });

  it('fails, leaving the target as it was, when fewer bytes arrive than were sent', async () => {
    const target = join(dir, 'kept.txt');
    await writeFile(target, 'old content\n');
    const script = makeInstallScript({
      destPath: target,
      tempPath: tempPathBeside(target),
      mode: 0o644,
      createParents: false,
      size: 10,
    });
    const cut = await runScript(script.getRawValue(), Buffer.from('new'));
    expect(cut.code).toBe(1);
    expect(cut.stderr).toBe(
      'only 3 of 10 bytes arrived: the content was cut short; the file is unchanged\n',
    );
    expect(await readFile(target, 'utf8')).toBe('old content\n');
    expect((await readdir(dir)).filter((name) => name.includes('infra-'))).toEqual([]);
    const whole = await runScript(script.getRawValue(), Buffer.from('0123456789'));
    expect(whole.code).toBe(0);
    expect(await readFile(target, 'utf8')).toBe('0123456789');
  });
});

describe('install script with an end mark (content of unknown size)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-endmark-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('installs the content without its mark, and refuses content cut short', async () => {
    const dest = join(dir, 'marked.bin');
    await writeFile(dest, 'old');
    const mark = 'a'.repeat(32);
    const script = () =>
      makeInstallScript({ destPath: dest, tempPath: tempPathBeside(dest), endMark: mark });
    const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 97]);
    const cut = await runScript(script().getRawValue(), bytes);
    expect(cut.code).not.toBe(0);
    expect(cut.stderr).toContain('cut short');
    expect(await readFile(dest, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['marked.bin']);

    const whole = await runScript(
      script().getRawValue(),
      Buffer.concat([bytes, Buffer.from(mark)]),
    );
    expect(whole).toEqual({ code: 0, stderr: '' });
    expect(await readFile(dest)).toEqual(bytes);
    expect(await readdir(dir)).toEqual(['marked.bin']);
  });
});

describe('install script when the copy fails', () => {
  it('installs nothing when the content cannot be read, leaving no temp', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-copy-fails-'));
    try {
      const dest = join(dir, 'kept.txt');
      await writeFile(dest, 'old');
      const script = makeInstallScript({
        destPath: dest,
        tempPath: tempPathBeside(dest),
        sourcePath: join(dir, 'not-there'),
      });
      const result = await runScript(script.getRawValue(), Buffer.alloc(0));
      expect(result.code).not.toBe(0);
      expect(await readFile(dest, 'utf8')).toBe('old');
      expect(await readdir(dir)).toEqual(['kept.txt']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
