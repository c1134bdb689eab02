// `pnpm new:connector NAME`: the name checks, then the whole path in a scratch copy
// of the repository (never the real one): generate, `pnpm install && pnpm build`,
// the new package's tests run and fail saying what to implement, `pnpm infra
// connectors` lists it, and `pnpm lint` has nothing to say about it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createConnector,
  NewConnectorError,
  namesFor,
  validateName,
} from '../../scripts/new-connector.mjs';
import { mustRun, REPO_ROOT, run, tempDir } from './helpers.mjs';

describe('new:connector name checks', () => {
  const cases = [
    [undefined, /Give the connector a name/],
    ['Chroot', /lowercase letters, digits and single dashes/],
    ['my_box', /lowercase letters, digits and single dashes/],
    ['-box', /lowercase letters/],
    ['box--two', /single dashes/],
    ['9box', /starting with a letter/],
    ['ssh', /packages\/connector-ssh already exists/],
    ['testkit', /packages\/connector-testkit already exists/],
    ['ssh-config', /(reserved for|already registered by) @infra\/connector-ssh/],
  ];
  for (const [name, message] of cases) {
    it(`refuses ${JSON.stringify(name)}`, async () => {
      await assert.rejects(validateName(name, REPO_ROOT), (error) => {
        assert.ok(error instanceof NewConnectorError);
        assert.equal(error.code, 'NEW_CONNECTOR_INVALID');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('accepts a new name and derives the class, key and file names', async () => {
    await validateName('lxd-vm', REPO_ROOT);
    assert.deepEqual(namesFor('lxd-vm'), {
      name: 'lxd-vm',
      className: 'LxdVmConnector',
      snake: 'lxd_vm',
      constant: 'LXD_VM',
      file: 'lxd-vm-connector',
    });
  });

  it('exits 2 with the message on the command line, writing nothing', async () => {
    const result = await run(process.execPath, ['scripts/new-connector.mjs', 'Bad Name'], {
      cwd: REPO_ROOT,
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^new:connector: Connector name "Bad Name" is not valid/);
    assert.ok(!existsSync(join(REPO_ROOT, 'packages/connector-Bad Name')));
  });
});

/** Each package's build task hash, as turbo computes it (a dry run: nothing is built). */
async function buildHashes(root) {
  const { stdout } = await mustRun('pnpm', ['exec', 'turbo', 'run', 'build', '--dry=json'], {
    cwd: root,
  });
  return Object.fromEntries(JSON.parse(stdout).tasks.map((task) => [task.taskId, task.hash]));
}

describe('new:connector in a scratch copy of the repository', () => {
  const NAME = 'kit-demo';
  let work;
  let created;
  let hashesBefore;
  const pnpm = (args, cwd = work.dir) =>
    run('pnpm', args, { cwd, env: { ...process.env, CI: '' } });

  before(async () => {
    work = await tempDir('infra-kit-new-connector-');
    // The working tree as it is (uncommitted files too) with its installed
    // node_modules and build outputs, so pnpm can install offline and turbo reuses the cache.
    await cp(REPO_ROOT, work.dir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (src) => basename(src) !== '.git',
    });
    hashesBefore = await buildHashes(work.dir);
    created = await createConnector(NAME, { root: work.dir });
  });

  after(() => work?.remove());

  it('writes the package, its first changeset and the root devDependency', async () => {
    const dir = join(work.dir, 'packages', `connector-${NAME}`);
    for (const file of [
      'package.json',
      'tsconfig.json',
      'vitest.config.ts',
      'README.md',
      'src/index.ts',
      'src/kit-demo-connector.ts',
      'src/kit-demo-connector.test.ts',
      'test/conformance.test.ts',
    ]) {
      assert.ok(existsSync(join(dir, file)), file);
    }
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
    assert.equal(manifest.name, '@infra/connector-kit-demo');
    assert.equal(manifest.type, 'module');
    assert.deepEqual(manifest.infra, { connectors: { 'kit-demo': './dist/index.js' } });
    assert.deepEqual(manifest.peerDependencies, {
      '@infra/connector-utils': 'workspace:^',
      '@infra/core': 'workspace:^',
    });
    assert.equal(manifest.devDependencies['@infra/connector-testkit'], 'workspace:*');
    assert.deepEqual(manifest.exports['.'], {
      types: './dist/index.d.ts',
      default: './dist/index.js',
    });
    const changeset = await readFile(join(work.dir, '.changeset/connector-kit-demo.md'), 'utf8');
    assert.match(changeset, /^---\n"@infra\/connector-kit-demo": major\n---\n/);
    const cli = JSON.parse(await readFile(join(work.dir, 'apps/cli/package.json'), 'utf8'));
    assert.equal(cli.devDependencies['@infra/connector-kit-demo'], 'workspace:*');
    assert.equal(created.cliChanged, true);
    const root = JSON.parse(await readFile(join(work.dir, 'package.json'), 'utf8'));
    assert.equal(root.devDependencies['@infra/connector-kit-demo'], undefined);
    const readme = await readFile(join(dir, 'README.md'), 'utf8');
    assert.match(readme, /\| `kit_demo_identifier` \| string \| \(required\) \|/);
    // A second run refuses to overwrite it.
    await assert.rejects(createConnector(NAME, { root: work.dir }), /already exists/);
  });

  it('then `pnpm install && pnpm build` work', async () => {
    // CI=true makes pnpm default to a frozen lockfile; a new package changes it, as it would for a contributor.
    await mustRun('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile'], {
      cwd: work.dir,
    });
    await mustRun('pnpm', ['build'], { cwd: work.dir });
    assert.ok(existsSync(join(work.dir, 'packages/connector-kit-demo/dist/index.js')));
    assert.ok(
      existsSync(join(work.dir, 'apps/cli/node_modules/@infra/connector-kit-demo/package.json')),
    );
  });

  it('changes the build hash of no package but itself and the CLI (turbo rebuilds only those)', async () => {
    const after = await buildHashes(work.dir);
    const changed = Object.keys(after).filter((task) => after[task] !== hashesBefore[task]);
    assert.deepEqual(changed.sort(), ['@infra/cli#build', '@infra/connector-kit-demo#build']);
  });

  it('its tests run: the unit tests pass, the conformance suite fails saying what to implement', async () => {
    const result = await pnpm(['test'], join(work.dir, 'packages/connector-kit-demo'));
    const text = (result.stdout + result.stderr).replace(/\u001b\[[0-9;]*m/g, '');
    assert.notEqual(result.code, 0);
    assert.match(text, /src\/kit-demo-connector\.test\.ts \(2 tests\)/);
    assert.match(
      text,
      /not implemented: KitDemoConnector\.connect\(\) \(packages\/connector-kit-demo\/src\/kit-demo-connector\.ts\)\. Open the connection/,
    );
  });

  it('implementing only its transport (runRaw) makes it pass the whole conformance suite', async () => {
    const file = join(work.dir, 'packages/connector-kit-demo/src/kit-demo-connector.ts');
    const skeleton = await readFile(file, 'utf8');
    // What an author writes: connect() has nothing to open, runRaw runs the command on
    // this machine. Nothing else: commands, become, retries, timeouts and files are shared.
    const written = skeleton
      .replace('  type RawExit,\n', '  type RawExit,\n  runLocalProcess,\n')
      .replace(
        /override async connect\(\): Promise<void> \{[\s\S]*?\n {2}\}\n/,
        'override async connect(): Promise<void> {}\n',
      )
      .replace(
        /protected override async runRaw\(command: RawCommand, _io: RawCommandIo\): Promise<RawExit> \{[\s\S]*?\n {2}\}\n/,
        `protected override async runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    const { output } = await runLocalProcess({
      argv: [command.shell, '-c', command.script],
      shownCommand: command.shownCommand,
      stdin: command.stdin,
      signal: io.signal,
      stdoutSink: io.stdout,
      onStderr: (chunk) => io.stderr.write(chunk),
    });
    return { exitCode: output.exitCode, signal: output.signal };
  }
`,
      );
    assert.notEqual(written, skeleton);
    assert.doesNotMatch(written, /throw notImplemented\(\s*'connect|runRaw\(\$\{/);
    await writeFile(file, written);
    const result = await pnpm(
      ['test', '--reporter=verbose'],
      join(work.dir, 'packages/connector-kit-demo'),
    );
    const text = (result.stdout + result.stderr).replace(/\u001b\[[0-9;]*m/g, '');
    assert.equal(result.code, 0, text);
    assert.match(text, /kit-demo connector conformance/);
    assert.doesNotMatch(text, /\d+ failed/);
    const passed = Number(/Tests\s+(\d+) passed/.exec(text)?.[1] ?? 0);
    assert.ok(passed >= 15, `expected the whole suite to pass, got:\n${text}`);
    await writeFile(file, skeleton);
  });

  it('`pnpm infra connectors` lists it, and using it says what to implement', async () => {
    const listed = await pnpm(['-s', 'infra', 'connectors']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /^kit-demo {2}@infra\/connector-kit-demo@0\.0\.0 {2}\(executes commands\)$/m,
    );
    assert.match(listed.stdout, /kit_demo_identifier {2}string/);
    const used = await pnpm(['-s', 'infra', '@kit-demo:box1', 'exec', '--', 'true']);
    assert.equal(used.code, 1);
    assert.match(used.stdout + used.stderr, /not implemented: KitDemoConnector\.connect\(\)/);
  });

  it('passes lint, typecheck and publint as generated', async () => {
    await mustRun(
      'pnpm',
      ['exec', 'biome', 'check', 'packages/connector-kit-demo', '.changeset', 'package.json'],
      {
        cwd: work.dir,
      },
    );
    const dir = join(work.dir, 'packages/connector-kit-demo');
    await mustRun('pnpm', ['typecheck'], { cwd: dir });
    await mustRun('pnpm', ['publint'], { cwd: dir });
  });
});
