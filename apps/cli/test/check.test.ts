import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvents, REPO_ROOT, runInfra } from './infra-process.js';

// Files in a folder outside the repository, with no node_modules of their own:
// `@infra/deploy` must resolve to the copy the CLI runs deploy files with.
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-check-'));
  await writeFile(
    join(dir, 'inventory.ts'),
    `import { inventory } from '@infra/deploy';\nexport default inventory({ hosts: ['@local'], all: { app_port: 8080 } });\n`,
  );
  await writeFile(
    join(dir, 'good.ts'),
    `import { deploy } from '@infra/deploy';\ninterface Data { app_port: number }\nexport default deploy<Data>(async ({ host, ops }) => {\n  await ops.server.shell({ commands: \`echo \${host.data.app_port + 1}\` });\n});\n`,
  );
  await writeFile(
    join(dir, 'bad.ts'),
    `import { deploy } from '@infra/deploy';\nconst n: number = 'x';\nexport default deploy(async ({ ops }) => {\n  await ops.server.shell({ commands: String(n) });\n});\n`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('infra check FILES...', () => {
  it('runs outside the repository', () => {
    expect(dir.startsWith(REPO_ROOT)).toBe(false);
  });

  it('passes typed deploy and inventory files', async () => {
    const result = await runInfra(['check', 'inventory.ts', 'good.ts'], { cwd: dir });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('Checked 2 files: no type errors.\n');
  });

  it('catches a type error before anything connects: file:line:col, exit 2', async () => {
    const result = await runInfra(['check', 'inventory.ts', 'bad.ts'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "bad.ts:2:7 - error TS2322: Type 'string' is not assignable to type 'number'.",
    );
    expect(result.stderr).toContain('Checked 2 files: 1 type error.');
    const json = await runInfra(['check', 'bad.ts', '--json'], { cwd: dir });
    expect(parseEvents(json.stdout)).toEqual([
      {
        type: 'type-error',
        where: 'bad.ts:2:7',
        code: 'TS2322',
        message: "Type 'string' is not assignable to type 'number'.",
      },
      { type: 'summary', files: 1, errors: 1, exitCode: 2 },
    ]);
  });

  it('names a file that is not there, and refuses exec options', async () => {
    const missing = await runInfra(['check', 'nope.ts'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('infra check: no such file nope.ts.');
    const sudo = await runInfra(['check', 'good.ts', '--sudo'], { cwd: dir });
    expect(sudo.code).toBe(2);
  });
});
