import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFakeConnectorProject, parseEvents, runInfra } from './infra-process.js';

// What a deploy prints agrees with itself: each failure said once, the ending
// line true to what happened, the table counting what JSON counts.

let project: string;
let out: string;

const write = (name: string, body: string) =>
  writeFile(join(project, name), `import { deploy } from '@infra/deploy';\n${body}\n`);
const inProject = (args: string[]) => runInfra(args, { cwd: project });

beforeAll(async () => {
  project = await makeFakeConnectorProject();
  out = await mkdtemp(join(tmpdir(), 'infra-cli-output-'));
  await write(
    'touch.ts',
    `export default deploy(async ({ ops }) => {\n  await ops.server.shell({ name: 'touch it', commands: 'true' });\n});`,
  );
});

afterAll(async () => {
  await rm(project, { recursive: true, force: true });
  await rm(out, { recursive: true, force: true });
});

describe('a deploy that fails', () => {
  it('on connect: says so once, plans nothing, and does not call it "nothing to do"', async () => {
    const result = await inProject([
      '@fake:c1',
      'touch.ts',
      '-y',
      '--data',
      'fake_unreachable=true',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout.match(/unreachable on purpose/g)).toHaveLength(1);
    expect(result.stdout).not.toContain('--> Planning');
    expect(result.stdout).not.toContain('--> Applying changes');
    expect(result.stdout).not.toContain('nothing to do');
    expect(result.stdout).toContain('1 of 1 hosts failed: c1. Nothing was applied.');

    const json = await inProject([
      '@fake:c1',
      'touch.ts',
      '-y',
      '--json',
      '--data',
      'fake_unreachable=true',
    ]);
    const connect = parseEvents(json.stdout).find((event) => event.type === 'connect');
    expect(connect).toMatchObject({ host: 'c1', connector: 'fake', success: false });
  });

  it('in its plan on the only host: nothing is applied, and a thrown object is shown as itself', async () => {
    await write(
      'plan-throws.ts',
      `export default deploy(async ({ ops }) => {\n  await ops.server.shell({ name: 'first', commands: 'true' });\n  throw { reason: 'no plan today' };\n});`,
    );
    const result = await inProject(['@fake:p1', 'plan-throws.ts', '-y']);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('--> Applying changes');
    expect(result.stdout).not.toContain('[object Object]');
    expect(result.stdout).toContain("reason: 'no plan today'");
    expect(result.stdout).toContain('1 of 1 hosts failed: p1. Nothing was applied.');
  });

  it('in an operation: the error is printed once, not again as the host failure', async () => {
    await write(
      'breaks.ts',
      `export default deploy(async ({ ops }) => {\n  await ops.server.shell({ name: 'Break it', commands: 'echo broken >&2; exit 3' });\n});`,
    );
    const result = await inProject(['@fake:b1+b2', 'breaks.ts', '-y']);
    expect(result.code).toBe(1);
    expect(result.stdout.match(/\[b1\].*exited with 3/g)).toHaveLength(1);
    expect(result.stdout).not.toContain('failed (execute)');
    expect(result.stdout).toContain('2 of 2 hosts failed: b1, b2.');
  });
});

describe('the results table', () => {
  it('counts an operation skipped by _if as skipped, and says "Would change" with --dry', async () => {
    await write(
      'skips.ts',
      `export default deploy(async ({ ops }) => {\n  await ops.server.shell({ name: 'never', commands: 'true', _if: () => false });\n  await ops.server.shell({ name: 'always', commands: 'true' });\n});`,
    );
    const result = await inProject(['@fake:s1', 'skips.ts', '--dry']);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const header = lines.find((line) => line.startsWith('Operation')) ?? '';
    expect(header.split(/\s{2,}/)).toEqual([
      'Operation',
      'Hosts',
      'Success',
      'Would change',
      'No change',
      'Skipped',
      'Error',
    ]);
    expect(lines.find((line) => line.startsWith('never'))?.split(/\s+/)).toEqual([
      'never',
      '1',
      '1',
      '0',
      '0',
      '1',
      '0',
    ]);
    const json = await inProject(['@fake:s1', 'skips.ts', '--dry', '--json']);
    const results = parseEvents(json.stdout).find((event) => event.type === 'results');
    expect(results?.rows).toContainEqual(
      expect.objectContaining({ operation: 'never', skipped: 1, noChange: 0 }),
    );
  });

  it('keeps per-host rows together where the deploy has them', async () => {
    await write(
      'per-host.ts',
      `export default deploy(async ({ host, ops }) => {\n  await ops.files.line({ name: 'line ' + host.name, path: ${JSON.stringify(out)} + '/' + host.name, line: 'x' });\n  await ops.server.shell({ name: 'after', commands: 'true' });\n});`,
    );
    const result = await inProject(['@fake:r1+r2', 'per-host.ts', '--dry', '--parallel', '1']);
    expect(result.code).toBe(0);
    const rows = result.stdout
      .split('\n')
      .filter((line) => /^(line r|after)/.test(line))
      .map((line) => line.split(/\s{2,}/)[0]);
    expect(rows).toEqual(['line r1', 'line r2', 'after']);
  });
});

describe('verbosity', () => {
  it('-v does not print what facts read; -vv does', async () => {
    await write(
      'users.ts',
      `export default deploy(async ({ facts, ops }) => {\n  await facts.server.users();\n  await ops.server.shell({ name: 'say', commands: 'echo said' });\n});`,
    );
    const v = await inProject(['@fake:u1', 'users.ts', '-y', '-v']);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('[u1] said');
    expect(v.stdout).not.toMatch(/\[u1\] root:x?:0:0/);
    const vv = await inProject(['@fake:u1', 'users.ts', '-y', '-vv']);
    expect(vv.stdout).toMatch(/\[u1\] root:x?:0:0/);
  });
});

describe('exec --limit', () => {
  it('runs only the hosts the limit names, as pyinfra does', async () => {
    const result = await inProject([
      '@fake:l1+l2+l3',
      'exec',
      '--limit',
      'l2',
      '--',
      'sh',
      '-c',
      'echo "$FAKE_HOST"',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('[l2] l2\n');
  });
});
