import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  INFRA_BIN,
  parseEvents,
  runInfra,
  runProgram,
  startInfra,
} from './infra-process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-deploy-'));
  await writeFile(
    join(dir, 'inventory.ts'),
    `export default {\n  all: { greeting: 'from-all', api_token: 'tok-secret-123' },\n  groups: { app: { hosts: ['@local'], data: { greeting: 'from-group' } } },\n};\n`,
  );
  await writeFile(
    join(dir, 'deploy.ts'),
    `import { deploy } from '@infra/deploy';\ninterface Data { greeting: string }\nexport default deploy<Data>(async ({ host, ops }) => {\n  await ops.files.directory({ path: ${JSON.stringify(join(dir, 'out'))} });\n  await ops.files.template({ template: 'greeting=<%= it.data.greeting %>\\n', dest: ${JSON.stringify(join(dir, 'out', 'app.conf'))} });\n  await ops.files.line({ path: ${JSON.stringify(join(dir, 'out', 'other.conf'))}, line: 'host=' + host.name });\n});\n`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('infra INVENTORY deploy.ts', () => {
  it('applies with -y, then finds nothing to do', async () => {
    const first = await runInfra(['inventory.ts', 'deploy.ts', '-y'], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('[@local] files.template');
    expect(first.stdout).toMatch(
      /Operation\s+Hosts\s+Success\s+Changed\s+No change\s+Skipped\s+Error/,
    );
    expect(await readFile(join(dir, 'out', 'app.conf'), 'utf8')).toBe('greeting=from-group\n');

    const second = await runInfra(['inventory.ts', 'deploy.ts', '-y', '--json'], { cwd: dir });
    expect(second.code).toBe(0);
    const summary = parseEvents(second.stdout).find((e) => e.type === 'summary');
    expect(summary).toMatchObject({ exitCode: 0, ending: 'nothing-to-do' });
  });

  it('draws a live progress view on a terminal and erases it before the results table', async () => {
    await writeFile(
      join(dir, 'slow.ts'),
      `import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  await ops.server.shell({ name: 'wait a little', commands: 'sleep 0.5' });\n});\n`,
    );
    // `script` runs infra on a real pseudo-terminal, as a person at a shell would.
    const line = [process.execPath, INFRA_BIN, '@local', 'slow.ts', '-y']
      .map((word) => `'${word}'`)
      .join(' ');
    const env = cleanEnv({ TERM: 'xterm', NO_COLOR: '1' });
    delete env.CI;
    const result = await runProgram('script', ['-qefc', line, '/dev/null'], { cwd: dir, env });
    expect(result.code).toBe(0);
    const screen = result.stdout;
    expect(screen).toMatch(/Applying changes · 1 hosts: 1 running, 0 failed/);
    // The operation's name, not its type (server.shell).
    expect(screen).toContain('@local    0/1  running wait a little');
    // Erased (up N lines, clear to the end) before the table is printed under it.
    const erase = screen.lastIndexOf('\x1b[J');
    expect(erase).toBeGreaterThan(0);
    expect(screen.indexOf('Operation', erase)).toBeGreaterThan(erase);

    const piped = await runInfra(['@local', 'slow.ts', '-y'], { cwd: dir });
    expect(piped.code).toBe(0);
    expect(`${piped.stdout}${piped.stderr}`).not.toContain('\x1b[');
  });

  it('runs the README example deploy as written: changes, then nothing to do', async () => {
    const example = fileURLToPath(
      new URL('../../../examples/local-deploy/deploy.ts', import.meta.url),
    );
    await rm('/tmp/infra-example', { recursive: true, force: true });
    const first = await runInfra(['@local', example, '-y'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('[@local] Note the new config: changed');
    expect(await readFile('/tmp/infra-example/app.conf', 'utf8')).toBe('port=8080\nhost=@local\n');
    const second = await runInfra(['@local', example, '-y'], { cwd: dir });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Every host is already in state: nothing to do.');
  });

  it('Ctrl-C lets the running command end, starts nothing new, and a second Ctrl-C kills', async () => {
    const marks = join(dir, 'marks');
    await writeFile(
      join(dir, 'stoppable.ts'),
      `import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  await ops.server.shell({ name: 'first', commands: 'echo started > ${marks}-1; sleep 1; echo ended >> ${marks}-1' });\n  await ops.server.shell({ name: 'second', commands: 'touch ${marks}-2' });\n});\n`,
    );
    const sigint = async (args: string[], times: number) => {
      const child = startInfra(args, dir);
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      // Wait until the first command runs, then interrupt.
      while (!(await readFile(`${marks}-1`, 'utf8').catch(() => '')).includes('started')) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      for (let i = 0; i < times; i++) {
        child.kill('SIGINT');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { code: await closed, stdout, stderr };
    };

    const once = await sigint(['@local', 'stoppable.ts', '-y'], 1);
    expect(once.code).toBe(130);
    expect(once.stderr).toContain('SIGINT: no new operations start');
    expect(await readFile(`${marks}-1`, 'utf8')).toBe('started\nended\n');
    await expect(readFile(`${marks}-2`)).rejects.toThrow(/ENOENT/);
    expect(once.stdout).toMatch(/Stopped \(SIGINT received\): the table shows what ran\./);

    await rm(`${marks}-1`);
    const twice = await sigint(['@local', 'stoppable.ts', '-y'], 2);
    expect(twice.code).toBe(130);
    expect(twice.stderr).toContain('SIGINT again: killing running commands');
    expect(await readFile(`${marks}-1`, 'utf8')).toBe('started\n');
    await expect(readFile(`${marks}-2`)).rejects.toThrow(/ENOENT/);
  });

  it('--data wins over the inventory, and --dry changes nothing', async () => {
    const dry = await runInfra(
      ['inventory.ts', 'deploy.ts', '--dry', '--diff', '--data', 'greeting=cli'],
      { cwd: dir },
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+greeting=cli');
    expect(dry.stdout).toContain('--dry: nothing was changed.');
    expect(await readFile(join(dir, 'out', 'app.conf'), 'utf8')).toBe('greeting=from-group\n');
  });

  it('exits 2 without a terminal and without -y, having run nothing', async () => {
    const result = await runInfra(['inventory.ts', 'deploy.ts'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no terminal to confirm.*pass -y/);
  });

  it('prints the inventory with secrets masked, facts as JSON, and runs ad hoc operations', async () => {
    const inventory = await runInfra(['inventory.ts', 'debug-inventory'], { cwd: dir });
    expect(inventory.code).toBe(0);
    expect(JSON.parse(inventory.stdout).hosts['@local'].data).toEqual({
      greeting: 'from-group',
      api_token: '***',
    });
    const fact = await runInfra(
      ['@local', 'fact', 'files.file', `path=${join(dir, 'out', 'app.conf')}`],
      { cwd: dir },
    );
    expect(JSON.parse(fact.stdout)['@local']).toMatchObject({ type: 'file', size: 20 });
    const dest = join(dir, 'adhoc.txt');
    const put = await runInfra(
      ['@local', 'files.put', `src=${join(dir, 'deploy.ts')}`, `dest=${dest}`, 'mode=600', '-y'],
      { cwd: dir },
    );
    expect(put.code).toBe(0);
    expect(await readFile(dest, 'utf8')).toContain('deploy<Data>');
  });

  it('exits 1 when a host fails', async () => {
    await writeFile(
      join(dir, 'fail.ts'),
      `import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => { await ops.server.shell({ commands: 'exit 4' }); });\n`,
    );
    const result = await runInfra(['@local', 'fail.ts', '-y'], { cwd: dir });
    expect(result.code).toBe(1);
    // Said once: the operation's error, not again as the host's failure.
    expect(result.stdout.match(/exit 4 exited with 4/g)).toHaveLength(1);
    expect(result.stdout).not.toContain('failed (execute)');
    expect(result.stdout).toMatch(/1 of 1 hosts failed: @local\. The table shows what ran\./);
  });
});
