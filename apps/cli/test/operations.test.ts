import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvents, REPO_ROOT, runInfra } from './infra-process.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-ops-'));
  // An operation and a fact in a local module, a group in the deploy file itself.
  await writeFile(
    join(dir, 'my-ops.ts'),
    `import { sh } from '@infra/core';
import { defineFact, defineOperation, fileFact } from '@infra/deploy';

export const wordCount = defineFact<{ path: string }, number, 'my.wordCount'>({
  name: 'my.wordCount',
  description: 'Words in a file.',
  argNames: ['path'],
  command: ({ path }) => sh\`wc -w < \${path}\`,
  parse: (output) => Number(output.stdout.trim()),
});

export const stamp = defineOperation<{ path: string; text: string }, 'my.stamp'>({
  name: 'my.stamp',
  description: 'A file holding text.',
  argNames: ['path', 'text'],
  label: (args) => 'my.stamp ' + args.path,
  plan: async (context, args) => {
    const info = await context.fact(fileFact, { path: args.path });
    const now = info === null ? null : (await context.readFile(args.path)).toString();
    if (now === args.text) return { steps: [] };
    return { steps: [{ kind: 'upload', src: Buffer.from(args.text), dest: args.path }] };
  },
});
`,
  );
  await writeFile(
    join(dir, 'deploy.ts'),
    `import { deploy } from '@infra/deploy';
import { stamp, wordCount } from './my-ops.ts';

const greet = deploy<{ who: string }>({ defaults: { who: 'world' } }, async ({ run, host }) => {
  await run(stamp, { path: ${JSON.stringify(join(dir, 'greeting.txt'))}, text: 'hello ' + host.data.who });
});

export default deploy(async ({ run, fact, dry }) => {
  await run(greet, { _if: true });
  if (!dry) {
    const words = await fact(wordCount, { path: ${JSON.stringify(join(dir, 'greeting.txt'))} });
    if (words !== 2) throw new Error('expected 2 words, got ' + words);
  }
});
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('operations and facts the deploy brings', () => {
  it('run from a local module and a group: --dry, -y, then nothing to do, in JSON too', async () => {
    const dry = await runInfra(['@local', 'deploy.ts', '--dry'], { cwd: dir });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('my.stamp');
    await expect(stat(join(dir, 'greeting.txt'))).rejects.toThrow(/ENOENT/);

    const first = await runInfra(['@local', 'deploy.ts', '-y', '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    const done = parseEvents(first.stdout).filter(
      (e) => e.type === 'operation' && e.phase === 'execute',
    );
    expect(done.map((e) => (e.result as { operation: string; status: string }).status)).toEqual([
      'changed',
    ]);
    expect(await readFile(join(dir, 'greeting.txt'), 'utf8')).toBe('hello world');

    const second = await runInfra(['@local', 'deploy.ts', '-y', '--data', 'who=world'], {
      cwd: dir,
    });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/nothing to do/);
  });

  it('a misspelled operation in a deploy names the closest one', async () => {
    await writeFile(
      join(dir, 'typo.ts'),
      `import { deploy } from '@infra/deploy';
export default deploy(async ({ ops }) => {
  await (ops.files as any).dirctory({ path: '/tmp' });
});
`,
    );
    const result = await runInfra(['@local', 'typo.ts', '--dry'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(
      'No operation files.dirctory; did you mean files.directory?',
    );
    expect(result.stdout + result.stderr).not.toContain('is not a function');
  });

  it('ad hoc: a misspelled operation exits 2 with the closest; an unknown argument names the valid ones', async () => {
    const typo = await runInfra(['@local', 'files.dirctory', 'path=/tmp', '--dry'], { cwd: dir });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('No operation files.dirctory; did you mean files.directory?');

    const argument = await runInfra(['@local', 'files.directory', 'pth=/tmp/x', '--dry'], {
      cwd: dir,
    });
    expect(argument.stdout + argument.stderr).toContain(
      'files.directory: it takes no argument "pth" (did you mean path?): expected path, present, mode, user, group',
    );
    expect(argument.code).not.toBe(0);
  });

  it('ad hoc: the new operations run as built-ins do', async () => {
    const file = join(dir, 'conf.txt');
    await writeFile(file, 'port=80\n');
    const args = [
      '@local',
      'files.replace',
      `path=${file}`,
      'text=^port=80$',
      'replace=port=8080',
      'flags=m',
      '-y',
    ];
    const first = await runInfra(args, { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(await readFile(file, 'utf8')).toBe('port=8080\n');
    const again = await runInfra(args, { cwd: dir });
    expect(again.stdout).toMatch(/nothing to do/);
  });
});

describe("packages/deploy/README.md's own operation, fact and group", () => {
  it('run as written: a change, then nothing to do', async () => {
    const readme = await readFile(join(REPO_ROOT, 'packages/deploy/README.md'), 'utf8');
    const block = (name: string, must: string) => {
      const found = [...readme.matchAll(/```ts\n(\/\/ ([\w.-]+)\n[\s\S]*?)```/g)].find(
        (m) => m[2] === name && (m[1] ?? '').includes(must),
      );
      if (!found?.[1]) throw new Error(`no ${name} block with ${must} in the README`);
      return found[1];
    };
    const folder = await mkdtemp(join(tmpdir(), 'infra-readme-ops-'));
    try {
      await writeFile(join(folder, 'my-ops.ts'), block('my-ops.ts', 'defineOperation'));
      await writeFile(join(folder, 'deploy.ts'), block('deploy.ts', 'run(greet'));
      await rm('/tmp/infra-greeting.txt', { force: true });
      const first = await runInfra(['@local', 'deploy.ts', '-y'], { cwd: folder });
      expect(first.code, first.stderr).toBe(0);
      expect(await readFile('/tmp/infra-greeting.txt', 'utf8')).toBe('hello world');
      const second = await runInfra(['@local', 'deploy.ts', '-y'], { cwd: folder });
      expect(second.stdout).toMatch(/nothing to do/);
    } finally {
      await rm(folder, { recursive: true, force: true });
      await rm('/tmp/infra-greeting.txt', { force: true });
    }
  });
});
