// A connector published by someone else: examples/third-party-connector (the
// `infra-connector-nsenter` package) is built and tested against @infra/core and
// @infra/connector-testkit as packed from this workspace, then installed with npm
// next to @infra/cli in a fresh project, where `infra connectors` finds it and
// `infra @nsenter:PID exec` runs through it, on this machine and via @local.
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
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
import {
  namespacedProcessMissingReason,
  skipWithoutPeer,
  startNamespacedProcess,
} from './peers.mjs';

const EXAMPLE = join(REPO_ROOT, 'examples/third-party-connector');

let work;
let tarballs;
let example;
let project;
let exampleTarball;

before(async () => {
  work = await tempDir('infra-kit-third-party-');
  tarballs = await packWorkspacePackages(
    [
      '@infra/core',
      '@infra/connector-utils',
      '@infra/connector-local',
      '@infra/connector-testkit',
      '@infra/deploy',
      '@infra/cli',
    ],
    join(work.dir, 'tarballs'),
  );
  // The example as its author has it: its own folder, its own npm install.
  example = join(work.dir, 'infra-connector-nsenter');
  await cp(EXAMPLE, example, {
    recursive: true,
    filter: (src) => !['node_modules', 'dist'].includes(basename(src)),
  });
  // Its @infra/* dev dependencies come from the packed tarballs (what npm would
  // download once they are published); typescript, vitest and @types/node from npm.
  await npmInstall(example, [
    '--no-save',
    tarballs['@infra/core'],
    tarballs['@infra/connector-utils'],
    tarballs['@infra/connector-local'],
    tarballs['@infra/connector-testkit'],
  ]);
  const packed = await mustRun('npm', ['pack', '--pack-destination', join(work.dir, 'tarballs')], {
    cwd: example,
  });
  exampleTarball = join(work.dir, 'tarballs', packed.stdout.trim().split('\n').at(-1));

  project = join(work.dir, 'project');
  await mkdir(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'infra-third-party-project', private: true, type: 'module' }),
  );
  await npmInstall(project, [
    tarballs['@infra/core'],
    tarballs['@infra/connector-utils'],
    tarballs['@infra/connector-local'],
    tarballs['@infra/deploy'],
    tarballs['@infra/cli'],
    exampleTarball,
  ]);
});

after(() => work?.remove());

const infra = (args) => run('npx', ['--no', 'infra', ...args], { cwd: project, env: npmEnv() });

describe('a third-party connector package (examples/third-party-connector)', () => {
  it('is not a workspace package and depends on @infra/* by semver range only', async () => {
    const workspace = await readFile(join(REPO_ROOT, 'pnpm-workspace.yaml'), 'utf8');
    assert.doesNotMatch(workspace, /examples/);
    const manifest = JSON.parse(await readFile(join(EXAMPLE, 'package.json'), 'utf8'));
    const ranges = {
      ...manifest.dependencies,
      ...manifest.devDependencies,
      ...manifest.peerDependencies,
    };
    for (const [name, range] of Object.entries(ranges)) {
      assert.doesNotMatch(range, /^(workspace|file|link):/, `${name}: ${range}`);
    }
    assert.deepEqual(Object.keys(manifest.peerDependencies).sort(), [
      '@infra/connector-utils',
      '@infra/core',
    ]);
    assert.equal(manifest.infra.connectors.nsenter, './dist/index.js');
  });

  it('passes the conformance suite of the packed @infra/connector-testkit', async (t) => {
    if (skipWithoutPeer(t, 'nsenter into a process', namespacedProcessMissingReason())) return;
    const result = await run('npx', ['--no', 'vitest', 'run', '--reporter=verbose'], {
      cwd: example,
      env: npmEnv({ CI: process.env.CI ?? '' }),
    });
    const text = (result.stdout + result.stderr).replace(/\u001b\[[0-9;]*m/g, '');
    assert.equal(result.code, 0, text);
    assert.match(text, /nsenter connector conformance/);
    assert.match(text, /nsenter via @local connector conformance/);
    assert.match(text, /with su to infra-plain > puts and gets files as that user/);
    const passed = Number(/Tests\s+(\d+) passed/.exec(text)?.[1] ?? 0);
    assert.ok(passed >= 15, `expected the whole suite to pass, got:\n${text}`);
    assert.doesNotMatch(text, /\d+ failed/);
  });

  it('is listed by `infra connectors` once installed with npm', async () => {
    const result = await infra(['connectors']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^nsenter {2}infra-connector-nsenter@1\.0\.0 {2}\(executes commands\)$/m,
    );
    assert.match(result.stdout, /nsenter_pid +integer/);
    assert.match(result.stdout, /via +string/);
  });

  it('runs `infra @nsenter:PID exec -- ...` in the namespaces of the process, here and via @local', async (t) => {
    if (skipWithoutPeer(t, 'nsenter into a process', namespacedProcessMissingReason())) return;
    const target = await startNamespacedProcess('infra-kit-ns');
    try {
      const host = `@nsenter:${target.pid}`;
      const result = await infra([host, 'exec', '--', 'hostname']);
      assert.equal(result.stdout, `[${host}] infra-kit-ns\n`, result.stderr);
      assert.equal(result.code, 0);

      const quoted = await infra([
        host,
        '--data',
        'via=@local',
        'exec',
        '--chdir',
        '/tmp',
        '--',
        'sh',
        '-c',
        'echo "$1 in $PWD on $(hostname)"',
        'sh',
        "it's one word",
      ]);
      assert.equal(
        quoted.stdout,
        `[${host}] it's one word in /tmp on infra-kit-ns\n`,
        quoted.stderr,
      );

      const chain = await infra([host, '--data', 'via=@local', 'debug-inventory']);
      assert.equal(JSON.parse(chain.stdout).hosts[host].chain, `${host} via @local`, chain.stderr);
    } finally {
      await target.stop();
    }
  });

  it('says what is wrong with a process that does not exist', async (t) => {
    if (skipWithoutPeer(t, 'nsenter into a process', namespacedProcessMissingReason())) return;
    const result = await infra(['@nsenter:999999999', 'exec', '--', 'true']);
    assert.equal(result.code, 1);
    assert.match(result.stderr + result.stdout, /there is no process 999999999 on this machine/);
  });
});
