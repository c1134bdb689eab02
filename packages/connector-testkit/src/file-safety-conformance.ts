import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Connector, type FileOptions, sh } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { type ConformanceContext, errorOf, modeAndOwner, namesIn } from './conformance-context.js';

/** Some bytes, then (when asked) a wait that never ends or an error: an upload that does not finish. */
function brokenSource(then: 'error' | 'stall', onFirstRead?: () => void): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(Buffer.alloc(64 * 1024, 'n'));
      onFirstRead?.();
      if (then === 'error') {
        setTimeout(() => this.destroy(new Error('the source broke half way')), 50);
      }
    },
  });
}

/**
 * What a failure must not do: a failed download leaves the local destination as
 * it was, byte for byte; a failed or aborted upload leaves the remote path with
 * its old content and no temp file; the owner and mode rules are the same with
 * and without become.
 */
export function describeFileSafety(
  context: ConformanceContext,
  become: { args: FileOptions; label: string } | undefined,
): void {
  describe('files that fail half way', () => {
    it('keeps the local destination byte for byte when getFile fails, leaving no temp', async () => {
      const local = join(context.localDir(), 'kept.bin');
      const old = Buffer.from('the old local content\n\0\xff');
      await writeFile(local, old);
      const before = await readdir(context.localDir());
      const error = await errorOf(
        context.connector().getFile(`${context.dir()}/not-there-at-all.bin`, local),
      );
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(await readFile(local)).toEqual(old);
      expect(await readdir(context.localDir())).toEqual(before);
    });

    it('keeps the local destination when getFile is aborted before it starts', async () => {
      const local = join(context.localDir(), 'kept-abort.bin');
      await writeFile(local, 'old');
      await context.connector().putFile(Buffer.from('new'), `${context.dir()}/abort-get.txt`);
      const reason = new Error('no download');
      const error = await errorOf(
        context.connector().getFile(`${context.dir()}/abort-get.txt`, local, {
          signal: AbortSignal.abort(reason),
        }),
      );
      expect(error).toBe(reason);
      expect(await readFile(local, 'utf8')).toBe('old');
    });

    it('keeps the old remote content and leaves no temp when the source of a putFile fails', async () => {
      const sub = `${context.dir()}/put-fails`;
      await context.runOk(sh`rm -rf ${sub} && mkdir ${sub} && printf old > ${`${sub}/target.txt`}`);
      const error = await errorOf(
        context.connector().putFile(brokenSource('error'), `${sub}/target.txt`),
      );
      expect(error.message).toMatch(/broke half way|target\.txt/);
      expect((await context.runOk(sh`cat ${`${sub}/target.txt`}`)).output.stdout).toBe('old');
      expect(await namesIn(context, sub)).toEqual(['target.txt']);
    });

    it('rejects an aborted putFile with signal.reason, keeping the old content and no temp', async () => {
      const sub = `${context.dir()}/put-aborted`;
      await context.runOk(sh`rm -rf ${sub} && mkdir ${sub} && printf old > ${`${sub}/target.txt`}`);
      const controller = new AbortController();
      const reason = new Error('upload cancelled');
      const source = brokenSource('stall', () => setTimeout(() => controller.abort(reason), 200));
      const error = await errorOf(
        context.connector().putFile(source, `${sub}/target.txt`, { signal: controller.signal }),
      );
      expect(error).toBe(reason);
      expect((await context.runOk(sh`cat ${`${sub}/target.txt`}`)).output.stdout).toBe('old');
      expect(await namesIn(context, sub)).toEqual(['target.txt']);
    });
  });

  describe('owner and mode of a replaced file', () => {
    it('keeps the mode and owner of the file it replaces, and sets a mode asked for', async () => {
      const path = `${context.dir()}/kept-mode.txt`;
      await context.runOk(sh`printf old > ${path} && chmod 0640 ${path}`);
      const before = await modeAndOwner(context, path);
      expect(before.mode).toBe('-rw-r-----');
      await context.connector().putFile(Buffer.from('new'), path);
      expect(await modeAndOwner(context, path)).toEqual(before);
      await context.connector().putFile(Buffer.from('newer'), path, { mode: 0o604 });
      expect(await modeAndOwner(context, path)).toEqual({ ...before, mode: '-rw----r--' });
      expect((await context.runOk(sh`cat ${path}`)).output.stdout).toBe('newer');
    });

    it.skipIf(!become)(
      `keeps the mode and owner the same way with become (${become?.label})`,
      async () => {
        const args = become!.args;
        const sub = `${context.dir()}/become-modes`;
        await context.runOk(sh`chmod 711 ${context.dir()} && mkdir -p ${sub} && chmod 777 ${sub}`);
        const path = `${sub}/kept-mode.txt`;
        await context.connector().putFile(Buffer.from('old'), path, { ...args, mode: 0o640 });
        const before = await modeAndOwner(context, path);
        expect(before.mode).toBe('-rw-r-----');
        const uid = (await context.runOk('id -u', args)).output.stdout;
        expect(before.uid).toBe(uid);
        await context.connector().putFile(Buffer.from('new'), path, args);
        expect(await modeAndOwner(context, path)).toEqual(before);
        await context.connector().putFile(Buffer.from('newer'), path, { ...args, mode: 0o604 });
        expect(await modeAndOwner(context, path)).toEqual({ ...before, mode: '-rw----r--' });
        await context.runOk(sh`rm -f ${path}`, args);
      },
    );
  });
}

/**
 * `sudo_password` in host data, for a login user whose sudo asks for one: commands
 * and files with `sudo` work without the run's prompt.
 */
export function describeSudoPasswordFromHostData(
  connect: (() => Promise<Connector>) | undefined,
): void {
  describe.skipIf(!connect)('sudo_password from host data', () => {
    it('answers sudo for a user whose sudo asks for a password, in commands and files', async () => {
      const connector = await connect!();
      try {
        const root = await connector.runShellCommand('id -un', { sudo: true });
        expect(root.output.stderr).toBe('');
        expect(root.output.stdout).toBe('root');
        const made = await connector.runShellCommand('mktemp -d', { sudo: true });
        const dir = made.output.stdout.trim();
        const path = `${dir}/from-host-data.txt`;
        await connector.putFile(Buffer.from('as root'), path, { sudo: true, mode: 0o600 });
        const listing = await connector.runShellCommand(sh`ls -ln ${path}; cat ${path}`, {
          sudo: true,
        });
        expect(listing.output.stdoutLines[0]?.split(/\s+/).slice(0, 3)).toEqual([
          '-rw-------',
          '1',
          '0',
        ]);
        expect(listing.output.stdoutLines[1]).toBe('as root');
        await connector.runShellCommand(sh`rm -rf ${dir}`, { sudo: true });
      } finally {
        await connector.disconnect();
      }
    });
  });
}
