// The README's commands run as written on a machine with Node and npm (after its set-up
// command): the "Using it" and "Examples" blocks, and installing the CLI from this checkout
// into a project of one's own (the packages are not on the registry yet). Its data-key
// table lists every key the connectors declare. packages/deploy/README.md's TypeScript
// inventory and deploy are the files of examples/inventory-deploy, and run as written.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
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
    const result = await runBlock(block('@local examples/local-deploy/deploy.ts --dry'));
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^\[@local\] a b$/m);
    assert.match(result.stdout, /nothing to do/);
    assert.match(result.stdout, /^\[@rest:demo\] Linux /m);
    assert.doesNotMatch(result.stdout + result.stderr, /api_key=[0-9a-f]{8}/);
  });

  it('the data-key table lists every key of every connector', async () => {
    const connectors = [
      ...['local', 'ssh', 'docker', 'rest', 'chroot'].map((name) => [name, name, 'default']),
      ['podman', 'docker', 'PodmanConnector'],
    ];
    for (const [name, pkg, exported] of connectors) {
      const entry = join(REPO_ROOT, `packages/connector-${pkg}/dist/index.js`);
      const connector = (await import(pathToFileURL(entry).href))[exported];
      // The last row naming it: the data-key table comes after the connection strings.
      const row = readme.split('\n').findLast((line) => line.startsWith(`| \`@${name}\` |`));
      assert.ok(row, `no row for @${name}`);
      for (const key of Object.keys(connector.dataMeta)) {
        assert.ok(row.includes(`\`${key}\``), `README's @${name} row lacks ${key}`);
      }
    }
  });
});

describe('README: a chroot through an ssh host', () => {
  // web1 is the testkit's loopback sshd (root may log in with its key), named by an ssh
  // config in INFRA_SSH_CONFIG_FILE; /srv/root is a link to a busybox root the testkit builds.
  const testkit = () =>
    import(pathToFileURL(join(REPO_ROOT, 'packages/connector-testkit/dist/index.js')).href);
  let peers;

  before(async () => {
    const kit = await testkit();
    const missing =
      kit.busyboxRootMissingReason() ??
      kit.sshdMissingReason() ??
      (existsSync('/srv/root')
        ? '/srv/root exists already: this test does not touch it'
        : undefined);
    if (missing) {
      peers = { missing };
      return;
    }
    const sshd = await kit.startSshd({ rootLogin: true });
    const root = await kit.makeBusyboxRoot();
    const config = join(sshd.dir, 'ssh_config');
    await writeFile(
      config,
      [
        'Host web1',
        '  HostName 127.0.0.1',
        `  Port ${sshd.port}`,
        `  IdentityFile ${sshd.clientKey.privateKeyPath}`,
        `  UserKnownHostsFile ${sshd.knownHostsFile}`,
        '',
      ].join('\n'),
    );
    await mkdir('/srv', { recursive: true });
    await symlink(root.dir, '/srv/root');
    peers = { sshd, root, env: npmEnv({ INFRA_SSH_CONFIG_FILE: config, SSH_AUTH_SOCK: '' }) };
  });

  after(async () => {
    if (peers?.root) await rm('/srv/root', { force: true });
    await peers?.root?.remove();
    await peers?.sshd?.dispose();
  });

  it('runs as written: the deploy lands in the chroot on web1, and debug-inventory shows the chain', async (t) => {
    if (skipWithoutPeer(t, 'root, sshd and a busybox root', peers.missing)) return;
    const result = await runBlock(block('via=@ssh:root@web1'), { env: peers.env });
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.equal(
      await readFile(join(peers.root.dir, 'tmp/infra-example/app.conf'), 'utf8'),
      'port=8080\nhost=@chroot:/srv/root\n',
    );
    assert.match(result.stdout, /"chain": "@chroot:\/srv\/root via @ssh:root@web1"/);
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

describe('packages/deploy/README.md: a TypeScript inventory and host.data', () => {
  const deployReadme = readFileSync(join(REPO_ROOT, 'packages/deploy/README.md'), 'utf8');

  it('shows the example files as they are', async () => {
    const shown = [...deployReadme.matchAll(/^```ts\n(\/\/ (examples\/\S+): [\s\S]*?)^```$/gm)];
    assert.deepEqual(
      shown.map((m) => m[2]),
      ['examples/inventory-deploy/inventory.ts', 'examples/inventory-deploy/deploy.ts'],
    );
    for (const [, text, file] of shown) {
      assert.equal(text, await readFile(join(REPO_ROOT, file), 'utf8'), `${file} differs`);
    }
  });

  it('its first commands run as written', async () => {
    const block = [...deployReadme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)][0][1];
    const result = await runBlock(block);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /"web2":/);
    assert.match(result.stdout, /"type": "file"/);
    assert.equal(
      await readFile('/tmp/infra-readme-copy.md', 'utf8'),
      await readFile(join(REPO_ROOT, 'README.md'), 'utf8'),
    );
    await rm('/tmp/infra-readme-copy.md', { force: true });
    await rm('/tmp/infra-inventory-example', { recursive: true, force: true });
  });

  it('runs as written: each host gets its own data, --data wins', async () => {
    const out = '/tmp/infra-inventory-example';
    await rm(out, { recursive: true, force: true });
    const block = [...deployReadme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)]
      .map((m) => m[1])
      .find((text) => text.includes('--data app_port=7000'));
    const [first, second] = block.trim().split('\n');
    const conf = (name) => readFile(join(out, `${name}.conf`), 'utf8');
    const one = await runBlock(first);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(await conf('web1'), 'role=web\nport=8080\n');
    assert.equal(await conf('web2'), 'role=web\nport=9090\n');
    const two = await runBlock(second);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(await conf('web1'), 'role=web\nport=7000\n');
    assert.equal(await conf('web2'), 'role=web\nport=7000\n');
    await rm(out, { recursive: true, force: true });
  });
});
