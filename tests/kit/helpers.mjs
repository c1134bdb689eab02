// Shared by the contributor-kit tests: run programs, pack workspace packages with
// `pnpm pack` as they would be published, and install tarballs with npm.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The workspace folder of each package the kit tests pack. */
export const PACKAGE_DIRS = {
  '@infra/core': 'packages/core',
  '@infra/connector-utils': 'packages/connector-utils',
  '@infra/connector-local': 'packages/connector-local',
  '@infra/connector-ssh': 'packages/connector-ssh',
  '@infra/connector-docker': 'packages/connector-docker',
  '@infra/connector-rest': 'packages/connector-rest',
  '@infra/connector-chroot': 'packages/connector-chroot',
  '@infra/connector-testkit': 'packages/connector-testkit',
  '@infra/deploy': 'packages/deploy',
  '@infra/cli': 'apps/cli',
  '@infra/agent': 'apps/agent',
};

/**
 * The environment for npm: without the npm_* variables pnpm sets when it runs a
 * script (npm would read them as its own config), quiet, and without the knobs
 * that change infra's output.
 */
export function npmEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || ['FORCE_COLOR', 'NO_COLOR', 'INFRA_SUDO_PASSWORD'].includes(key))
      continue;
    env[key] = value;
  }
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...extra,
  };
}

/** Run a program to its end; resolves { code, stdout, stderr } whatever the exit code. */
export function run(file, args, { cwd, env = npmEnv(), timeout = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (error && code === null && !error.signal) return reject(error);
        resolve({ code, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}

/** Like `run`, but a non-zero exit throws with the program's output. */
export async function mustRun(file, args, options) {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} (in ${options?.cwd}) exited ${result.code ?? result.signal}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** A fresh temp folder, and its removal. */
export async function tempDir(prefix) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * `pnpm pack` each package (built dist, `workspace:` ranges rewritten to versions)
 * into `dest`; returns { [packageName]: tarballPath }.
 */
export async function packWorkspacePackages(names, dest) {
  await mkdir(dest, { recursive: true });
  const tarballs = {};
  for (const name of names) {
    const dir = PACKAGE_DIRS[name];
    if (!dir) throw new Error(`no workspace folder known for ${name}`);
    const before = new Set(await readdir(dest));
    await mustRun('pnpm', ['pack', '--pack-destination', dest], {
      cwd: join(REPO_ROOT, dir),
      env: { ...process.env },
    });
    const added = (await readdir(dest)).filter((file) => !before.has(file));
    if (added.length !== 1) throw new Error(`pnpm pack ${name} wrote ${added.join(', ')}`);
    tarballs[name] = join(dest, added[0]);
  }
  return tarballs;
}

/** `npm install` in `dir`, preferring the local cache (third-party packages come from the registry). */
export function npmInstall(dir, args = []) {
  return mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...args], {
    cwd: dir,
  });
}
