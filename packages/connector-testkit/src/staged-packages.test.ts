import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { notRootReason, peerMissing } from './peer.js';
import { stagePackages } from './staged-packages.js';
import { missingTestUsers, TEST_USERS } from './test-users.js';

const execFileAsync = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const asOtherUserSkip = peerMissing(
  'runuser as a test user',
  notRootReason() ??
    (missingTestUsers().length > 0 ? 'run scripts/setup-test-host.sh as root' : undefined),
);

describe('stagePackages', () => {
  it('copies a package with what it ships, readable by all, and removes it', async () => {
    const staged = await stagePackages(['@infra/core'], { from: here });
    const core = staged.packageDir('@infra/core');
    expect((await stat(join(core, 'package.json'))).isFile()).toBe(true);
    expect((await stat(join(core, 'dist', 'index.js'))).isFile()).toBe(true);
    await expect(stat(join(core, 'src'))).rejects.toThrow();
    expect((await stat(staged.dir)).mode & 0o555).toBe(0o555);
    await staged.remove();
    await expect(stat(staged.dir)).rejects.toThrow();
  });

  it('names a package it cannot find', async () => {
    await expect(stagePackages(['@infra/no-such-package'], { from: here })).rejects.toThrow(
      /@infra\/no-such-package is not installed/,
    );
  });

  it.skipIf(asOtherUserSkip)(
    'lets another user run a staged script that imports them',
    async () => {
      const source = await mkdtemp(join(tmpdir(), 'infra-stage-test-'));
      await writeFile(
        join(source, 'script.mjs'),
        [
          "import { QuoteString } from '@infra/core';",
          "console.log(new QuoteString(process.argv[2]).render('raw'));",
        ].join('\n'),
      );
      const staged = await stagePackages(['@infra/core'], {
        from: here,
        scripts: [join(source, 'script.mjs')],
      }).finally(() => rm(source, { recursive: true }));
      try {
        const { stdout } = await execFileAsync('runuser', [
          '-u',
          TEST_USERS.plain.name,
          '--',
          process.execPath,
          staged.script('script.mjs'),
          "it's",
        ]);
        expect(stdout.trim()).toBe(`'it'"'"'s'`);
      } finally {
        await staged.remove();
      }
    },
  );
});
