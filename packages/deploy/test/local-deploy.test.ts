import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import LocalConnector from '@infra/connector-local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeployFunction,
  deployContext,
  loadDeployFiles,
  type OperationResult,
  type RunEvent,
  type RunHost,
  runHosts,
} from '../src/index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-deploy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function localHost(name: string, hostData: Record<string, unknown> = {}): RunHost {
  const log = { debug() {}, info() {}, warn() {} };
  return {
    name,
    groups: [],
    hostData,
    connector: new LocalConnector({
      name,
      data: {},
      hostData,
      log,
      sudoPassword: { get: () => Promise.reject(new Error('no sudo password in tests')) },
    }),
  };
}

async function run(
  fn: DeployFunction,
  options: { dry?: boolean; hosts?: RunHost[]; failPercent?: number } = {},
) {
  const events: RunEvent[] = [];
  const outcome = await runHosts({
    hosts: options.hosts ?? [localHost('@local')],
    task: async (session) => fn(deployContext(session), {}),
    dry: options.dry ?? false,
    diff: true,
    failPercent: options.failPercent,
    onEvent: (event) => events.push(event),
  });
  return { ...outcome, events };
}

const statuses = (results: readonly OperationResult[]) =>
  results.map((r) => `${r.operation}:${r.status}`);

describe('operations on @local, run twice', () => {
  it('change the host the first time and report no change the second', async () => {
    const src = join(dir, 'src.txt');
    await writeFile(src, 'local file\n');
    const root = join(dir, 'twice');
    const fn: DeployFunction = async ({ ops }) => {
      await ops.files.directory({ path: root, mode: '750' });
      await ops.files.put({ src, dest: join(root, 'put.txt'), mode: '640' });
      await ops.files.template({
        template: 'host=<%= it.host.name %>\n',
        dest: join(root, 'tpl.txt'),
      });
      await ops.files.file({ path: join(root, 'empty'), mode: '600' });
      await ops.files.link({ path: join(root, 'link'), target: 'put.txt' });
      await ops.files.line({ path: join(root, 'lines.txt'), line: '^port=', replace: 'port=80' });
      await ops.files.get({ src: join(root, 'put.txt'), dest: join(dir, 'fetched.txt') });
    };
    const first = await run(fn);
    expect(first.ending).toBe('executed');
    expect(statuses(first.executed).every((s) => s.endsWith(':changed'))).toBe(true);
    expect(first.executed).toHaveLength(7);
    expect((await stat(root)).mode & 0o777).toBe(0o750);
    expect((await stat(join(root, 'put.txt'))).mode & 0o777).toBe(0o640);
    expect(await readFile(join(root, 'tpl.txt'), 'utf8')).toBe('host=@local\n');
    expect(await readFile(join(root, 'lines.txt'), 'utf8')).toBe('port=80\n');
    expect((await stat(join(root, 'empty'))).mode & 0o777).toBe(0o600);
    expect(await readlink(join(root, 'link'))).toBe('put.txt');
    expect(await readFile(join(dir, 'fetched.txt'), 'utf8')).toBe('local file\n');

    const second = await run(fn);
    expect(second.ending).toBe('nothing-to-do');
    expect(statuses(second.planned)).toEqual([
      'files.directory:no-change',
      'files.put:no-change',
      'files.template:no-change',
      'files.file:no-change',
      'files.link:no-change',
      'files.line:no-change',
      'files.get:no-change',
    ]);
  });

  it('changes only the mode when the content is already right', async () => {
    const dest = join(dir, 'mode.txt');
    await writeFile(dest, 'same\n', { mode: 0o644 });
    const fn: DeployFunction = async ({ ops }) => {
      await ops.files.put({ src: Buffer.from('same\n'), dest, mode: '600' });
    };
    const first = await run(fn);
    expect(first.executed[0]?.commands).toEqual([`chmod 600 ${dest}`]);
    expect((await stat(dest)).mode & 0o777).toBe(0o600);
    expect((await run(fn)).ending).toBe('nothing-to-do');
  });

  it('removes what is present: false, then has nothing to remove', async () => {
    const path = join(dir, 'gone');
    await writeFile(path, 'x');
    const fn: DeployFunction = async ({ ops }) => {
      await ops.files.file({ path, present: false });
    };
    expect(statuses((await run(fn)).executed)).toEqual(['files.file:changed']);
    await expect(stat(path)).rejects.toThrow();
    expect((await run(fn)).ending).toBe('nothing-to-do');
  });

  it('server.shell always changes, and its output reaches the next line', async () => {
    const seen: string[] = [];
    const fn: DeployFunction = async ({ ops, dry }) => {
      const result = await ops.server.shell({ commands: ['echo one', 'echo two'] });
      if (!dry) seen.push(result.stdout);
      await ops.server.shell({ commands: 'false', _ignoreErrors: true });
    };
    const outcome = await run(fn);
    expect(seen).toEqual(['one\ntwo']);
    expect(statuses(outcome.executed)).toEqual(['server.shell:changed', 'server.shell:error']);
    expect(outcome.failedHosts.size).toBe(0);
  });

  it('honours _if and reads facts', async () => {
    const fn: DeployFunction = async ({ ops, facts }) => {
      const os = await facts.server.os();
      expect(os).toBe('Linux');
      expect(await facts.files.file(join(dir, 'nothing-here'))).toBeNull();
      const users = await facts.server.users();
      expect(users.root?.uid).toBe(0);
      await ops.server.shell({ commands: 'echo skipped', _if: () => os !== 'Linux' });
    };
    const outcome = await run(fn);
    expect(statuses(outcome.planned)).toEqual(['server.shell:skipped']);
  });
});

describe('dry runs', () => {
  it('--dry plans changes and changes nothing', async () => {
    const dest = join(dir, 'dry', 'file.txt');
    const outcome = await run(
      async ({ ops }) => {
        await ops.files.put({ src: Buffer.from('x\n'), dest });
        await ops.server.shell({ commands: `touch ${join(dir, 'dry-touched')}` });
      },
      { dry: true },
    );
    expect(outcome.ending).toBe('dry');
    expect(outcome.planned.map((r) => [r.status, r.dry])).toEqual([
      ['changed', true],
      ['changed', true],
    ]);
    expect(outcome.planned[0]?.diff).toContain('+x');
    expect(outcome.executed).toEqual([]);
    await expect(stat(dest)).rejects.toThrow();
    await expect(stat(join(dir, 'dry-touched'))).rejects.toThrow();
  });
});

describe('several hosts', () => {
  it('a failed host stops its own operations while the others go on', async () => {
    const marker = (name: string) => join(dir, `after-${name}`);
    const hosts = ['a', 'b', 'c'].map((name) => localHost(name, { fail: name === 'b' }));
    const outcome = await run(
      async ({ ops, host }) => {
        await ops.server.shell({ commands: host.data.fail ? 'exit 3' : 'true' });
        await ops.files.file({ path: marker(host.name) });
      },
      { hosts },
    );
    expect([...outcome.failedHosts.keys()]).toEqual(['b']);
    expect(outcome.failedHosts.get('b')?.message).toMatch(/exit 3 exited with 3/);
    expect((await stat(marker('a'))).isFile()).toBe(true);
    expect((await stat(marker('c'))).isFile()).toBe(true);
    await expect(stat(marker('b'))).rejects.toThrow();
    expect(outcome.events.some((e) => e.type === 'host-failed' && e.host === 'b')).toBe(true);
  });

  it('--fail-percent stops the run once too many hosts failed', async () => {
    const hosts = ['x', 'y'].map((name) => localHost(name, { fail: name === 'x' }));
    const outcome = await run(
      async ({ ops, host }) => {
        await ops.server.shell({ commands: host.data.fail ? 'exit 1' : 'true', _serial: true });
      },
      { hosts, failPercent: 10 },
    );
    expect(outcome.ending).toBe('stopped');
    expect(outcome.stopped).toMatch(/--fail-percent 10 exceeded/);
  });

  it('_runOnce runs an operation on one host only', async () => {
    const hosts = ['r1', 'r2', 'r3'].map((name) => localHost(name));
    const outcome = await run(
      async ({ ops }) => {
        await ops.server.shell({ commands: 'true', _runOnce: true });
      },
      { hosts },
    );
    expect(outcome.executed.filter((r) => r.status === 'changed')).toHaveLength(1);
    expect(outcome.executed.filter((r) => r.status === 'skipped')).toHaveLength(2);
  });
});

describe('deploy files', () => {
  it('loads TypeScript deploy files without a build step and runs them in order', async () => {
    const out = join(dir, 'files-order.txt');
    await writeFile(
      join(dir, 'first.ts'),
      `import { deploy } from '@infra/deploy';\ninterface Data { word: string }\nexport default deploy<Data>({ defaults: { word: 'first' } }, async ({ ops, host }) => {\n  await ops.files.line({ path: ${JSON.stringify(out)}, line: host.data.word });\n});\n`,
    );
    await writeFile(
      join(dir, 'second.ts'),
      `import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  await ops.files.line({ path: ${JSON.stringify(out)}, line: 'second' });\n});\n`,
    );
    const loaded = await loadDeployFiles([join(dir, 'first.ts'), join(dir, 'second.ts')]);
    const outcome = await runHosts({
      hosts: [localHost('@local')],
      defaults: loaded[0]?.deploy.defaults,
      task: async (session) => {
        for (const entry of loaded) await entry.deploy.run(deployContext(session));
      },
    });
    expect(outcome.failedHosts.size).toBe(0);
    expect(await readFile(out, 'utf8')).toBe('first\nsecond\n');
  });

  it('refuses a file without a deploy export, naming it', async () => {
    const file = join(dir, 'bad.ts');
    await writeFile(file, 'export const x = 1;\n');
    await expect(loadDeployFiles([file])).rejects.toThrow(
      /bad\.ts: has no default export from deploy\(\)/,
    );
  });
});
