#!/usr/bin/env node
// `pnpm test`: prepares this machine for the real peers (as root), lints, builds every
// package, runs every package's tests one package at a time (all of them, even after one
// fails: turbo's --continue), then the contributor kit's tests (tests/kit), and prints one
// closing line with the totals of them all: `tests: N passed, N failed, N skipped`. It
// exits non-zero when any test, package or the kit failed.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const extra = process.argv.slice(2);

if (process.getuid?.() === 0) {
  const setup = spawnSync('bash', [join(root, 'scripts/setup-test-host.sh')], { stdio: 'inherit' });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
} else {
  console.warn(
    'test: not root, so scripts/setup-test-host.sh was not run; tests that need sudo, sshd or dockerd will skip.',
  );
}

const lint = spawnSync('pnpm', ['exec', 'biome', 'check', '.'], { cwd: root, stdio: 'inherit' });
if (lint.status !== 0) process.exit(lint.status ?? 1);

const build = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) process.exit(build.status ?? 1);

const totals = { passed: 0, failed: 0, skipped: 0 };
const ansi = /\u001b\[[0-9;]*m/g;
const child = spawn(
  'pnpm',
  ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue', ...extra],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
let pending = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString('utf8');
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    const text = line.replace(ansi, '');
    // vitest's summary: "Tests  2 failed | 64 passed | 3 skipped (69)"
    if (!/^\S*\s*Tests\s+\d/.test(text.replace(/^[^:]*:\s/, ''))) continue;
    for (const [, count, kind] of text.matchAll(/(\d+) (passed|failed|skipped|todo)/g)) {
      const key = kind === 'todo' ? 'skipped' : kind;
      totals[key] += Number(count);
    }
  }
});
child.on('close', (code) => {
  // The contributor kit's tests (tests/kit: the generator, packed installs, releases) run
  // on the built workspace with node:test; their TAP totals join the packages'.
  const kit = spawnSync(
    'node',
    ['--test', '--test-concurrency=1', '--test-reporter=tap', 'tests/kit/'],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  process.stdout.write(kit.stdout);
  const kinds = { pass: 'passed', fail: 'failed', skipped: 'skipped', todo: 'skipped' };
  for (const [, kind, count] of kit.stdout.matchAll(/^# (pass|fail|skipped|todo) (\d+)$/gm)) {
    totals[kinds[kind]] += Number(count);
  }
  console.log(
    `\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`,
  );
  // A package whose tests crashed before vitest's summary counts nowhere: turbo's code says so.
  process.exit(code || kit.status || (totals.failed > 0 ? 1 : 0));
});
