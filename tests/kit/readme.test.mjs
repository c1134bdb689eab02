// The README's commands run as written on a machine with Node and npm (after its set-up
// command): the "Using it" and "Examples" blocks, and installing the CLI from this checkout
// into a project of one's own (the packages are not on the registry yet). Its data-key
// table lists every key the connectors declare.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { npmEnv, REPO_ROOT, run, tempDir } from './helpers.mjs';
import { skipWithoutPeer } from './peers.mjs';

const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
const shellBlocks = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

/** The one sh block of the README that contains `marker`. */
function block(marker) {
  const found = shellBlocks.filter((text) => text.includes(marker));
  assert.equal(found.length, 1, `one README sh block with ${marker}, found ${found.length}`);
  return found[0];
}

/** Runs a README block with bash, stopping at the first failing line. */
const runBlock = (text, { cwd = REPO_ROOT, env = npmEnv() } = {}) =>
  run('bash', ['-e', '-c', text], { cwd, env });

describe('README commands', () => {
  it('need only Node and npm after the set-up line: no bare pnpm', () => {
    const [setUp, ...rest] = shellBlocks;
    assert.match(setUp, /^npx --yes pnpm@\S+ install/);
    for (const text of rest) {
      for (const line of text.split('\n')) {
        assert.doesNotMatch(line, /(^|[;&|(]\s*)pnpm\s/, `bare pnpm in README: ${line}`);
      }
    }
  });

  it('"Using it" runs', async (t) => {
    if (skipWithoutPeer(t, 'sudo as root', process.getuid?.() === 0 ? undefined : 'not root'))
      return;
    const result = await runBlock(block('exec --json -- echo hi'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\[@local\] hi there from \/tmp$/m);
    assert.match(result.stdout, /^\[@local\] nobody$/m);
    assert.match(result.stdout, /^\{"type":"connect","host":"@local"/m);
  });

  it('"Examples that run as written" run', async () => {
    const result = await runBlock(block('examples/local-deploy/deploy.ts'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\[@local\] a b$/m);
    assert.match(result.stdout, /nothing to do/);
    assert.match(result.stdout, /^\[@rest:demo\] Linux /m);
    assert.doesNotMatch(result.stdout + result.stderr, /api_key=[0-9a-f]{8}/);
  });

  it('the data-key table lists every key of every connector', async () => {
    for (const name of ['local', 'ssh', 'docker', 'rest']) {
      const entry = join(REPO_ROOT, `packages/connector-${name}/dist/index.js`);
      const { default: connector } = await import(pathToFileURL(entry).href);
      const row = readme.split('\n').find((line) => line.startsWith(`| \`@${name}\` |`));
      assert.ok(row, `no row for @${name}`);
      for (const key of Object.keys(connector.dataMeta)) {
        assert.ok(row.includes(`\`${key}\``), `README's @${name} row lacks ${key}`);
      }
    }
  });
});

describe('README: installing the CLI from this checkout', () => {
  let home;
  let result;

  before(async () => {
    // A home of its own, so "$HOME/infra-packages" and "$HOME/my-infra" are scratch folders;
    // npm keeps its usual cache.
    home = await tempDir('infra-kit-readme-home-');
    result = await runBlock(block('--pack-destination'), {
      env: npmEnv({
        HOME: home.dir,
        npm_config_cache: join(homedir(), '.npm'),
        npm_config_prefer_offline: 'true',
      }),
    });
  });

  after(() => home?.remove());

  it('packs, installs and runs infra', () => {
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /^\[@local\] Linux /m);
  });
});
