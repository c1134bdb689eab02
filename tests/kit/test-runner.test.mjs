// `pnpm test` (scripts/test.mjs) on a scratch workspace of three packages whose first
// one fails (the others wait for it): every package's tests still run, the closing line counts them all, and
// the exit code says something failed.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, run, tempDir } from './helpers.mjs';

const vitestFile = (tests) => `import { expect, it } from 'vitest';\n\n${tests.join('\n')}\n`;

const PACKAGES = {
  a: vitestFile([
    "it('a fails', () => expect(1).toBe(2));",
    "it('a passes', () => expect(1).toBe(1));",
  ]),
  b: vitestFile([
    "it('b passes', () => expect(1).toBe(1));",
    "it.skip('b skips', () => expect(1).toBe(2));",
  ]),
  c: vitestFile([
    "it('c passes', () => expect(1).toBe(1));",
    "it('c passes again', () => expect(2).toBe(2));",
  ]),
};

async function makeWorkspace(dir) {
  await mkdir(join(dir, 'scripts'));
  await copyFile(join(REPO_ROOT, 'scripts/test.mjs'), join(dir, 'scripts/test.mjs'));
  // The host set-up is the real suite's business, not this one's.
  await writeFile(join(dir, 'scripts/setup-test-host.sh'), '#!/usr/bin/env bash\nexit 0\n');
  await symlink(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
  const biome = JSON.parse(await readFile(join(REPO_ROOT, 'biome.json'), 'utf8'));
  await writeFile(
    join(dir, 'biome.json'),
    JSON.stringify({ ...biome, formatter: { enabled: false } }),
  );
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'runner-fixture', private: true, packageManager: 'pnpm@10.34.9' }),
  );
  await writeFile(join(dir, 'pnpm-workspace.yaml'), 'packages:\n  - packages/*\n');
  await writeFile(
    join(dir, 'turbo.json'),
    // b and c wait for a's tests, so a fails first whatever order turbo picks.
    JSON.stringify({ tasks: { build: {}, test: { dependsOn: ['^test'], cache: false } } }),
  );
  for (const [name, tests] of Object.entries(PACKAGES)) {
    await mkdir(join(dir, 'packages', name, 'test'), { recursive: true });
    await writeFile(
      join(dir, 'packages', name, 'package.json'),
      JSON.stringify({
        name: `@runner-fixture/${name}`,
        private: true,
        type: 'module',
        scripts: { test: 'vitest run' },
        ...(name === 'a' ? {} : { dependencies: { '@runner-fixture/a': 'workspace:*' } }),
      }),
    );
    await writeFile(join(dir, 'packages', name, 'test', `${name}.test.mjs`), tests);
  }
  await mkdir(join(dir, 'tests/kit'), { recursive: true });
  await writeFile(
    join(dir, 'tests/kit/kit.test.mjs'),
    "import { it } from 'node:test';\n\nit('kit passes', () => {});\n",
  );
}

/** As a user's shell has it: not as a child of this node:test run (NODE_TEST_CONTEXT). */
function runnerEnv() {
  const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
  delete env.NODE_TEST_CONTEXT;
  return env;
}

describe('pnpm test (scripts/test.mjs)', () => {
  let scratch;
  let result;

  before(async () => {
    scratch = await tempDir('infra-test-runner-');
    await makeWorkspace(scratch.dir);
    result = await run(process.execPath, ['scripts/test.mjs'], {
      cwd: scratch.dir,
      env: runnerEnv(),
    });
  });

  after(() => scratch?.remove());

  it("runs every package's tests when the first one fails", () => {
    for (const name of ['a', 'b', 'c']) {
      assert.match(result.stdout, new RegExp(`test/${name}\\.test\\.mjs`), `${name} did not run`);
    }
  });

  it('counts them all in the closing line, the kit too', () => {
    assert.match(result.stdout, /\ntests: 5 passed, 1 failed, 1 skipped\n?$/);
  });

  it('exits non-zero', () => {
    assert.notEqual(result.code, 0);
  });
});
