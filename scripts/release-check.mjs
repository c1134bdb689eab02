#!/usr/bin/env node
// `pnpm release:check`: what the release workflow cannot prove until it publishes, run here.
//
//   1. build every package (turbo)
//   2. for every publishable package (packages/*, apps/* without "private": true):
//      - publint
//      - @arethetypeswrong/cli on the packed tarball, ESM-only profile
//      - `pnpm pack` (workspace: ranges become real versions, files as published)
//      - a scratch npm project that installs that tarball alone (its declared
//        dependencies from npm; @infra/* packages, not on the registry yet, from
//        their tarballs; @infra/core as the peer when it is one) and imports it,
//        and runs its bins with --help.
//
// Usage: node scripts/release-check.mjs [--skip-build] [--keep] [PACKAGE ...]
// Exits 1 when any check fails, after running all of them; prints one line per check.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const skipBuild = argv.includes('--skip-build');
const keep = argv.includes('--keep');
const only = argv.filter((a) => !a.startsWith('--'));

/** The environment for npm, without the npm_* variables pnpm sets for scripts. */
function npmEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key)) env[key] = value;
  }
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

function run(file, args, { cwd = ROOT, env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      if (error && code === null && !error.signal) return reject(error);
      resolve({ code, stdout, stderr });
    });
  });
}

const failures = [];
function report(pkg, check, result, detail = '') {
  const ok = result.code === 0;
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${pkg.padEnd(28)} ${check}${detail ? `  ${detail}` : ''}`);
  if (!ok) {
    failures.push(`${pkg}: ${check}`);
    const output = `${result.stdout}\n${result.stderr}`.trim();
    if (output) console.log(output.replace(/^/gm, '      '));
  }
  return ok;
}

async function publishablePackages() {
  const found = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of (await readdir(join(ROOT, group))).sort()) {
      const dir = join(ROOT, group, entry);
      if (!existsSync(join(dir, 'package.json'))) continue;
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      if (manifest.private) continue;
      if (only.length > 0 && !only.includes(manifest.name) && !only.includes(entry)) continue;
      found.push({ dir, manifest });
    }
  }
  return found;
}

async function main() {
  if (!skipBuild) {
    const build = await run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only']);
    if (!report('(all)', 'build', build)) return 1;
  }
  const packages = await publishablePackages();
  if (packages.length === 0) {
    console.error(`release:check: no publishable package matches ${only.join(', ')}`);
    return 2;
  }
  const work = await mkdtemp(join(tmpdir(), 'infra-release-check-'));
  const tarballDir = join(work, 'tarballs');
  await mkdir(tarballDir);
  try {
    // Every publishable package is packed first: the scratch installs need the
    // tarballs of the @infra/* packages they depend on.
    const tarballs = {};
    const all = only.length > 0 ? await allPackagesForTarballs() : packages;
    for (const { dir, manifest } of all) {
      const before = new Set(await readdir(tarballDir));
      const packed = await run('pnpm', ['pack', '--pack-destination', tarballDir], { cwd: dir });
      const added = (await readdir(tarballDir)).filter((file) => !before.has(file));
      if (packed.code === 0 && added.length === 1)
        tarballs[manifest.name] = join(tarballDir, added[0]);
      if (packages.some((p) => p.manifest.name === manifest.name)) {
        report(manifest.name, 'pnpm pack', packed, added[0] ?? '');
      }
    }
    for (const { dir, manifest } of packages) {
      const name = manifest.name;
      const publint = manifest.scripts?.publint
        ? await run('pnpm', ['run', '--silent', 'publint'], { cwd: dir })
        : await run('pnpm', ['exec', 'publint'], { cwd: dir });
      report(name, 'publint', publint);
      const tarball = tarballs[name];
      if (!tarball) continue;
      const attw = await run(
        'pnpm',
        ['exec', 'attw', tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-color'],
        { cwd: ROOT },
      );
      report(name, 'attw --profile esm-only', attw);
      await installAlone(work, manifest, tarballs);
    }
  } finally {
    if (keep) console.log(`(kept ${work})`);
    else await rm(work, { recursive: true, force: true });
  }
  console.log(
    failures.length === 0
      ? `\nrelease:check: every check passed for ${packages.length} packages.`
      : `\nrelease:check: ${failures.length} failed:\n  ${failures.join('\n  ')}`,
  );
  return failures.length === 0 ? 0 : 1;
}

async function allPackagesForTarballs() {
  const saved = only.splice(0);
  try {
    return await publishablePackages();
  } finally {
    only.push(...saved);
  }
}

/**
 * A fresh npm project with only this package (and @infra/core when it is a peer):
 * npm resolves its declared dependencies, and the package must import and its bins run.
 */
async function installAlone(work, manifest, tarballs) {
  const name = manifest.name;
  const project = join(work, `alone-${name.replace(/\W/g, '-')}`);
  await mkdir(project);
  const dependencies = { [name]: `file:${tarballs[name]}` };
  if (manifest.peerDependencies?.['@infra/core'] && tarballs['@infra/core']) {
    dependencies['@infra/core'] = `file:${tarballs['@infra/core']}`;
  }
  // @infra/* packages are not on the registry yet: their tarballs stand in for it.
  const overrides = Object.fromEntries(
    Object.entries(tarballs)
      .filter(([other]) => other !== name && !(other in dependencies))
      .map(([other, path]) => [other, `file:${path}`]),
  );
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify(
      { name: 'release-check', private: true, type: 'module', dependencies, overrides },
      null,
      2,
    ),
  );
  const install = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: project,
    env: npmEnv(),
  });
  if (!report(name, 'npm install alone', install, relative(work, project))) return;
  const imported = await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(name)}); const n = Object.keys(m).length; if (n === 0) throw new Error('no exports'); console.log(n + ' exports');`,
    ],
    { cwd: project },
  );
  report(name, 'import', imported, imported.stdout.trim());
  for (const bin of Object.keys(manifest.bin ?? {})) {
    const help = await run(join(project, 'node_modules', '.bin', bin), ['--help'], {
      cwd: project,
    });
    report(name, `${bin} --help`, help);
  }
}

process.exitCode = await main();
