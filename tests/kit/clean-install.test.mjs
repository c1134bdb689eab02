// A clean install of the workspace (no node_modules, nothing built), as a newcomer's
// first `pnpm install` is: pnpm links every bin without a warning, because the bins are
// committed files (apps/*/bin) that import the built code, not dist/ files the build writes.
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mustRun, REPO_ROOT, tempDir } from './helpers.mjs';

const SKIPPED = new Set(['.git', 'node_modules', 'dist', '.turbo']);

describe('a clean pnpm install', () => {
  let work;
  let output;

  before(async () => {
    work = await tempDir('infra-kit-clean-install-');
    await cp(REPO_ROOT, work.dir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => !SKIPPED.has(basename(src)),
    });
    // --ignore-scripts: the warnings come from linking, before `prepare` builds anything.
    const result = await mustRun(
      'pnpm',
      ['install', '--frozen-lockfile', '--prefer-offline', '--ignore-scripts'],
      { cwd: work.dir, env: { ...process.env, CI: 'true' } },
    );
    output = `${result.stdout}${result.stderr}`;
  });

  after(() => work?.remove());

  it('prints no warning', () => {
    assert.doesNotMatch(output, /WARN/);
  });
});
