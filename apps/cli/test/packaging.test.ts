import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, type ProcessResult, REPO_ROOT, runProgram } from './infra-process.js';

/**
 * What a user gets from npm: the four packages packed as they would be published,
 * installed into a fresh project, run through `npx infra`.
 */
let workDir: string;
let project: string;

const npmEnv = () =>
  cleanEnv({
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  });

async function mustSucceed(result: Promise<ProcessResult>, what: string): Promise<ProcessResult> {
  const done = await result;
  if (done.code !== 0)
    throw new Error(`${what} exited ${done.code}:\n${done.stdout}\n${done.stderr}`);
  return done;
}

const npx = (args: string[]) =>
  runProgram('npx', ['--no', 'infra', ...args], { cwd: project, env: npmEnv() });

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'infra-cli-pack-'));
  const tarballs = join(workDir, 'tarballs');
  project = join(workDir, 'project');
  await mkdir(project);
  for (const name of [
    '@infra/core',
    '@infra/connector-utils',
    '@infra/connector-local',
    '@infra/deploy',
    '@infra/cli',
  ]) {
    await mustSucceed(
      runProgram('pnpm', ['--filter', name, 'pack', '--pack-destination', tarballs], {
        cwd: REPO_ROOT,
      }),
      `pnpm pack ${name}`,
    );
  }
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'infra-packaging-test', private: true, type: 'module' }),
  );
  const files = (await readdir(tarballs)).map((file) => join(tarballs, file));
  expect(files).toHaveLength(5);
  await mustSucceed(
    runProgram('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...files], {
      cwd: project,
      env: npmEnv(),
    }),
    'npm install',
  );
  // A connector package built for another contract version.
  const stale = join(project, 'node_modules', 'infra-connector-stale');
  await mkdir(stale, { recursive: true });
  await writeFile(
    join(stale, 'package.json'),
    JSON.stringify({
      name: 'infra-connector-stale',
      version: '9.9.9',
      type: 'module',
      infra: { connectors: { stale: './index.js' } },
    }),
  );
  await writeFile(
    join(stale, 'index.js'),
    `export default class StaleConnector {
  static specificationVersion = 'v0';
  static handlesExecution = true;
  static dataMeta = {};
  static makeNamesData() { return [['@stale', {}, []]]; }
}
`,
  );
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('the published packages, installed with npm', () => {
  it('run a command: npx infra @local exec -- echo hi', async () => {
    const result = await npx(['@local', 'exec', '--', 'echo', 'hi']);
    expect(result.stdout).toBe('[@local] hi\n');
    expect(result.code).toBe(0);
  });

  it('say the ssh connector is not installed and which package to add', async () => {
    const result = await npx(['@ssh:x', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('No connector named "ssh" is installed');
    expect(result.stderr).toContain('npm install @infra/connector-ssh');
  });

  it('refuse a connector built for another specification version', async () => {
    const result = await npx(['@stale', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'connector "stale" from infra-connector-stale@9.9.9 implements connector specification "v0", but this infra expects "v1"',
    );
  });

  it('list the installed connectors, the stale one marked unusable', async () => {
    const result = await npx(['connectors']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^local {2}@infra\/connector-local@\S+ {2}\(executes commands\)$/m,
    );
    expect(result.stdout).toMatch(
      /^stale {2}infra-connector-stale@9\.9\.9 {2}\(cannot be used\)$/m,
    );
  });

  it('say how to get TypeScript for infra check when the project has none', async () => {
    await writeFile(join(project, 'deploy.ts'), 'export default () => {};\n');
    const result = await npx(['check', 'deploy.ts']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('npm install --save-dev typescript');
  });
});
