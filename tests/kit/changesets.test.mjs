// `pnpm changeset version` bumps only the packages a changeset names, plus the
// dependents .changeset/config.json says to bump. Run in a scratch copy of the
// repository (without .git and node_modules) whose packages stand at 1.0.0, as
// after the first release.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mustRun, REPO_ROOT, tempDir } from './helpers.mjs';

const CHANGESET_BIN = join(REPO_ROOT, 'node_modules/.bin/changeset');

let work;
let packageDirs;

async function versions() {
  const out = {};
  for (const dir of packageDirs) {
    const manifest = JSON.parse(await readFile(join(work.dir, dir, 'package.json'), 'utf8'));
    out[manifest.name] = manifest.version;
  }
  return out;
}

async function changelogs() {
  return packageDirs.filter((dir) => existsSync(join(work.dir, dir, 'CHANGELOG.md')));
}

async function version(name, bump, summary) {
  const file = `kit-${name.replace(/\W/g, '-')}-${bump}.md`;
  await writeFile(
    join(work.dir, '.changeset', file),
    `---\n"${name}": ${bump}\n---\n\n${summary}\n`,
  );
  await mustRun(CHANGESET_BIN, ['version'], { cwd: work.dir });
  assert.ok(!existsSync(join(work.dir, '.changeset', file)), 'the changeset is consumed');
}

before(async () => {
  work = await tempDir('infra-kit-changesets-');
  await cp(REPO_ROOT, work.dir, {
    recursive: true,
    filter: (src) => !['.git', 'node_modules', 'dist', '.turbo'].includes(basename(src)),
  });
  packageDirs = [];
  for (const group of ['packages', 'apps']) {
    for (const entry of await readdir(join(work.dir, group))) {
      if (existsSync(join(work.dir, group, entry, 'package.json')))
        packageDirs.push(`${group}/${entry}`);
    }
  }
  // The state after a first release: every package at 1.0.0, no pending changesets.
  for (const dir of packageDirs) {
    const path = join(work.dir, dir, 'package.json');
    const manifest = JSON.parse(await readFile(path, 'utf8'));
    manifest.version = '1.0.0';
    await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(join(work.dir, dir, 'CHANGELOG.md'), { force: true });
  }
  for (const file of await readdir(join(work.dir, '.changeset'))) {
    if (file.endsWith('.md')) await rm(join(work.dir, '.changeset', file));
  }
});

after(() => work?.remove());

describe('changeset version in a scratch copy', () => {
  it('is configured to bump peer dependents only when out of range, and to publish publicly', async () => {
    const config = JSON.parse(await readFile(join(REPO_ROOT, '.changeset/config.json'), 'utf8'));
    assert.equal(config.access, 'public');
    assert.equal(
      config.___experimentalUnsafeOptions_WILL_CHANGE_IN_PATCH
        ?.onlyUpdatePeerDependentsWhenOutOfRange,
      true,
    );
    assert.deepEqual(config.fixed, []);
    assert.deepEqual(config.linked, []);
  });

  it('a minor changeset for one connector bumps that connector only, with its CHANGELOG', async () => {
    const before = await versions();
    await version('@infra/connector-local', 'minor', 'A new option.');
    const afterwards = await versions();
    for (const [name, value] of Object.entries(afterwards)) {
      assert.equal(value, name === '@infra/connector-local' ? '1.1.0' : before[name], name);
    }
    assert.deepEqual(await changelogs(), ['packages/connector-local']);
    const changelog = await readFile(
      join(work.dir, 'packages/connector-local/CHANGELOG.md'),
      'utf8',
    );
    assert.match(changelog, /## 1\.1\.0\n\n### Minor Changes\n\n- A new option\./);
  });

  it('a minor of @infra/core leaves the packages whose ranges still accept it alone', async () => {
    const before = await versions();
    await version('@infra/core', 'minor', 'A new helper.');
    const afterwards = await versions();
    for (const [name, value] of Object.entries(afterwards)) {
      assert.equal(value, name === '@infra/core' ? '1.1.0' : before[name], name);
    }
  });

  it('a major of @infra/core bumps its peer dependents (major) and its dependents (patch)', async () => {
    const before = await versions();
    await version('@infra/core', 'major', 'A breaking change.');
    const afterwards = await versions();
    const manifests = {};
    for (const dir of packageDirs) {
      const manifest = JSON.parse(await readFile(join(work.dir, dir, 'package.json'), 'utf8'));
      manifests[manifest.name] = manifest;
    }
    assert.equal(afterwards['@infra/core'], '2.0.0');
    for (const [name, manifest] of Object.entries(manifests)) {
      if (name === '@infra/core') continue;
      const [major, minor, patch] = before[name].split('.').map(Number);
      if (manifest.peerDependencies?.['@infra/core']) {
        // A peer range that no longer accepts core is a breaking change for users.
        assert.equal(afterwards[name], `${major + 1}.0.0`, name);
      } else if (manifest.dependencies?.['@infra/core']) {
        assert.equal(afterwards[name], `${major}.${minor}.${patch + 1}`, name);
      } else {
        assert.equal(afterwards[name], before[name], name);
      }
    }
  });
});
