// Operations published by someone else: examples/third-party-operation (the
// `infra-ops-envfile` package) defines one operation, one fact and a reusable
// deploy group with defineOperation/defineFact/deploy of @infra/deploy as packed
// from this workspace. It is packed with npm, installed in a fresh project next
// to @infra/cli, and a deploy file there runs its operation and fact through
// `infra @local deploy.ts`: --dry, the first run, the second (no change), JSON.
import assert from 'node:assert/strict';
import { chmod, cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  mustRun,
  npmEnv,
  npmInstall,
  packWorkspacePackages,
  REPO_ROOT,
  run,
  tempDir,
} from './helpers.mjs';

const EXAMPLE = join(REPO_ROOT, 'examples/third-party-operation');

let work;
let project;
let appDir;

before(async () => {
  work = await tempDir('infra-kit-third-party-op-');
  const tarballs = await packWorkspacePackages(
    [
      '@infra/core',
      '@infra/deploy',
      '@infra/connector-utils',
      '@infra/connector-local',
      '@infra/cli',
    ],
    join(work.dir, 'tarballs'),
  );
  // The example as its author has it: its own folder, its own npm install.
  const example = join(work.dir, 'infra-ops-envfile');
  await cp(EXAMPLE, example, {
    recursive: true,
    filter: (src) => !['node_modules', 'dist'].includes(basename(src)),
  });
  // @infra/deploy depends on @infra/connector-utils, which is not on npm either.
  await npmInstall(example, [
    '--no-save',
    tarballs['@infra/core'],
    tarballs['@infra/connector-utils'],
    tarballs['@infra/deploy'],
  ]);
  const packed = await mustRun('npm', ['pack', '--pack-destination', join(work.dir, 'tarballs')], {
    cwd: example,
  });
  const exampleTarball = join(work.dir, 'tarballs', packed.stdout.trim().split('\n').at(-1));

  project = join(work.dir, 'project');
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'infra-third-party-op-project', private: true, type: 'module' }),
  );
  await npmInstall(project, [
    tarballs['@infra/core'],
    tarballs['@infra/deploy'],
    tarballs['@infra/connector-utils'],
    tarballs['@infra/connector-local'],
    tarballs['@infra/cli'],
    exampleTarball,
  ]);
  appDir = join(work.dir, 'app');
  await writeFile(
    join(project, 'deploy.ts'),
    `import { deploy } from '@infra/deploy';
import { appEnv, envfileSetOperation, envfileValuesFact } from 'infra-ops-envfile';

export default deploy(async ({ run, fact, host, dry }) => {
  await run(appEnv, { port: 8080 });
  await run(envfileSetOperation, {
    path: \`\${host.data.appDir}-shared/extra.env\`,
    values: { MODE: 'production' },
    _sudo: true,
    _sudoUser: 'infra-plain',
  });
  const values = await fact(envfileValuesFact, { path: \`\${host.data.appDir}/.env\` });
  if (!dry && values?.PORT !== '8080') throw new Error(\`PORT is \${values?.PORT}\`);
});
`,
  );
});

after(() => work?.remove());

const infra = (args) => run('npx', ['--no', 'infra', ...args], { cwd: project, env: npmEnv() });

describe('a third-party operation package (examples/third-party-operation)', () => {
  it('is not a workspace package and depends on @infra/* by semver range only', async () => {
    const workspace = await readFile(join(REPO_ROOT, 'pnpm-workspace.yaml'), 'utf8');
    assert.doesNotMatch(workspace, /examples/);
    const manifest = JSON.parse(await readFile(join(EXAMPLE, 'package.json'), 'utf8'));
    for (const [name, range] of Object.entries({
      ...manifest.devDependencies,
      ...manifest.peerDependencies,
    })) {
      assert.doesNotMatch(range, /^(workspace|file|link):/, `${name}: ${range}`);
    }
    assert.deepEqual(Object.keys(manifest.peerDependencies), ['@infra/core', '@infra/deploy']);
  });

  it('runs its operation, fact and deploy group from a deploy file: --dry, twice, JSON', async () => {
    const data = ['--data', `appDir=${appDir}`];
    // The second operation writes as infra-plain, which must reach into the folder.
    await chmod(work.dir, 0o755);
    await mkdir(`${appDir}-shared`, { mode: 0o777 });
    await chmod(`${appDir}-shared`, 0o777);

    const dry = await infra(['@local', 'deploy.ts', ...data, '--dry']);
    assert.equal(dry.code, 0, dry.stderr + dry.stdout);
    assert.match(dry.stdout, /envfile\.set/);
    await assert.rejects(stat(join(appDir, '.env')), /ENOENT/);

    const first = await infra(['@local', 'deploy.ts', ...data, '-y', '--json']);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const events = first.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const executed = events.filter(
      (e) =>
        e.type === 'operation' && e.phase === 'execute' && e.result.operation === 'envfile.set',
    );
    assert.deepEqual(
      executed.map((e) => e.result.status),
      ['changed', 'changed'],
    );
    assert.equal(await readFile(join(appDir, '.env'), 'utf8'), 'PORT=8080\nHOST_NAME=@local\n');
    assert.equal((await stat(join(appDir, '.env'))).mode & 0o777, 0o600);
    const extra = await stat(`${appDir}-shared/extra.env`);
    assert.notEqual(extra.uid, 0, 'written as infra-plain through _sudoUser');

    const second = await infra(['@local', 'deploy.ts', ...data, '-y']);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    assert.match(second.stdout, /already in state: nothing to do/);
  });

  it('an argument the operation does not declare is an error naming the valid ones', async () => {
    await writeFile(
      join(project, 'typo.ts'),
      `import { deploy } from '@infra/deploy';
import { envfileSetOperation } from 'infra-ops-envfile';
export default deploy(async ({ run }) => {
  await run(envfileSetOperation, { pth: '/tmp/x', values: {} } as never);
});
`,
    );
    const result = await infra(['@local', 'typo.ts', '--dry']);
    assert.equal(result.code, 1);
    assert.match(
      result.stdout + result.stderr,
      /envfile\.set: it takes no argument "pth" \(did you mean path\?\): expected path, values, mode/,
    );
  });
});
