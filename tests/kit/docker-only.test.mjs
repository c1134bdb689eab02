// A project that depends on @infra/cli and @infra/connector-docker only (npm, from
// the packed tarballs): `@docker:` works against a real dockerd (the testkit's
// fixture, with a busybox image built without a registry), and `@ssh:` says which
// package to install.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { npmEnv, npmInstall, packWorkspacePackages, REPO_ROOT, run, tempDir } from './helpers.mjs';
import { skipWithoutPeer } from './peers.mjs';

const testkit = () =>
  import(pathToFileURL(join(REPO_ROOT, 'packages/connector-testkit/dist/index.js')).href);

let work;
let project;

before(async () => {
  work = await tempDir('infra-kit-docker-only-');
  const tarballs = await packWorkspacePackages(
    [
      '@infra/core',
      '@infra/deploy',
      '@infra/cli',
      '@infra/connector-docker',
      '@infra/connector-utils',
    ],
    join(work.dir, 'tarballs'),
  );
  project = join(work.dir, 'project');
  await mkdir(project);
  // The project asks for two packages. @infra/core, @infra/deploy and @infra/connector-utils are not on the
  // registry yet: `overrides` points npm at their tarballs, standing in for it.
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'infra-docker-only-project',
        private: true,
        type: 'module',
        dependencies: {
          '@infra/cli': `file:${tarballs['@infra/cli']}`,
          '@infra/connector-docker': `file:${tarballs['@infra/connector-docker']}`,
        },
        overrides: {
          '@infra/core': `file:${tarballs['@infra/core']}`,
          '@infra/deploy': `file:${tarballs['@infra/deploy']}`,
          '@infra/connector-utils': `file:${tarballs['@infra/connector-utils']}`,
        },
      },
      null,
      2,
    ),
  );
  await npmInstall(project);
});

after(() => work?.remove());

const infra = (args) => run('npx', ['--no', 'infra', ...args], { cwd: project, env: npmEnv() });

describe('a project with only @infra/cli and @infra/connector-docker', () => {
  it('has no other connector installed', async () => {
    const scoped = (await readdir(join(project, 'node_modules/@infra'))).sort();
    assert.deepEqual(scoped, ['cli', 'connector-docker', 'connector-utils', 'core', 'deploy']);
    const result = await infra(['connectors']);
    assert.equal(result.code, 0, result.stderr);
    const names = [...result.stdout.matchAll(/^(\S+) {2}(@infra\/\S+)@/gm)].map((m) => m[1]);
    assert.ok(names.includes('docker'), result.stdout);
    assert.ok(!names.includes('ssh') && !names.includes('local'), result.stdout);
  });

  it('runs a command in a container with @docker:IMAGE', async (t) => {
    const { dockerdMissingReason, startDockerd } = await testkit();
    if (skipWithoutPeer(t, 'dockerd', dockerdMissingReason())) return;
    const { buildBusyboxImage } = await testkit();
    const dockerd = await startDockerd();
    try {
      const image = await buildBusyboxImage(dockerd, { tag: 'infra-kit/busybox:latest' });
      const result = await infra([
        `@docker:${image}`,
        '--data',
        `docker_host=${dockerd.host}`,
        '--data',
        'docker_network=none',
        '--data',
        'docker_commit=false',
        'exec',
        '--',
        'sh',
        '-c',
        'test -e /bin/busybox && test ! -e /work && echo "in a container: $1"',
        'sh',
        "it's one word",
      ]);
      assert.equal(result.code, 0, result.stderr + result.stdout);
      assert.equal(result.stdout, `[@docker:${image}] in a container: it's one word\n`);
    } finally {
      await dockerd.stop();
    }
  });

  it('says @ssh needs @infra/connector-ssh', async () => {
    const result = await infra(['@ssh:web1', 'exec', '--', 'true']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /No connector named "ssh" is installed/);
    assert.match(result.stderr, /Installed: docker \(@infra\/connector-docker\)/);
    assert.match(result.stderr, /npm install @infra\/connector-ssh/);
  });
});
