import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeployFunction,
  defineFact,
  defineOperation,
  deploy,
  fileFact,
  resultsTable,
} from '../src/index.js';
import { localHost, run, statuses } from './hosts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-open-ops-'));
  // The group test writes as infra-plain.
  await chmod(dir, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fact of this test's own: who runs its command. */
const whoamiFact = defineFact<Record<string, never>, string, 'test.whoami'>({
  name: 'test.whoami',
  description: 'The user the command runs as.',
  argNames: [],
  command: () => sh`id -un`,
  parse: (output) => output.stdout.trim(),
});

interface StampArgs {
  path: string;
  text: string;
}

/** An operation of this test's own: a file holding `text`, written with a command. */
const stampOperation = defineOperation({
  name: 'test.stamp',
  description: 'Write text into a file when it differs.',
  argNames: ['path', 'text'],
  label: (args: StampArgs) => `test.stamp ${args.path}`,
  plan: async (context, args) => {
    const info = await context.fact(fileFact, { path: args.path });
    const current = info === null ? null : (await context.readFile(args.path)).toString();
    if (current === args.text) return { steps: [] };
    return { steps: [{ kind: 'command', command: sh`printf %s ${args.text} > ${args.path}` }] };
  },
});

describe('operations and facts defined outside the library', () => {
  it('run with the plan and execute passes, --dry, _if, events and the results table', async () => {
    const path = join(dir, 'stamp.txt');
    const fn: DeployFunction = async ({ run, fact }) => {
      expect(await fact(whoamiFact, {})).toBe('root');
      await run(stampOperation, { path, text: 'one' });
      await run(stampOperation, { path: join(dir, 'never'), text: 'x', _if: () => false });
    };
    const dry = await run(fn, [localHost('@local')], { dry: true });
    expect(statuses(dry.planned)).toEqual(['test.stamp:changed', 'test.stamp:skipped']);
    await expect(stat(path)).rejects.toThrow();

    const first = await run(fn, [localHost('@local')]);
    expect(statuses(first.executed)).toEqual(['test.stamp:changed', 'test.stamp:skipped']);
    expect(await readFile(path, 'utf8')).toBe('one');
    expect(first.events.some((e) => e.type === 'command' && e.operation === 'test.stamp')).toBe(
      true,
    );
    expect(resultsTable(first.executed)[0]).toMatchObject({
      operation: expect.stringContaining('test.stamp'),
      changed: 1,
    });

    const second = await run(fn, [localHost('@local')]);
    expect(second.ending).toBe('nothing-to-do');
    expect(statuses(second.planned)).toEqual(['test.stamp:no-change', 'test.stamp:skipped']);
  });

  it('retries, ignored errors, serial hosts and --diff work on them as on built-ins', async () => {
    const counter = join(dir, 'attempts');
    let attempts = 0;
    const flaky = defineOperation<{ text: string }, 'test.flaky'>({
      name: 'test.flaky',
      description: 'Fails on its first attempt.',
      argNames: ['text'],
      label: (args) => `test.flaky ${args.text}`,
      plan: async () => ({
        steps: [
          {
            kind: 'command',
            command: sh`n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n+1)) > ${counter}; [ "$n" -ge 1 ]`,
          },
        ],
        diff: '--- before\n+++ after\n',
      }),
    });
    const fn: DeployFunction = async ({ run }) => {
      attempts++;
      await run(flaky, { text: 'retried', _retries: 1, _retryDelay: 0, _serial: true });
      await run(flaky, { text: 'ignored', _ignoreErrors: true, _successExitCodes: [7] });
    };
    const outcome = await run(fn, [localHost('@local')]);
    expect(attempts).toBe(2);
    expect(outcome.failedHosts).toEqual(new Map());
    expect(statuses(outcome.executed)).toEqual(['test.flaky:changed', 'test.flaky:error']);
    expect(outcome.executed[0]?.diff).toBe('--- before\n+++ after\n');
    expect(await readFile(counter, 'utf8')).toBe('3\n');
  });

  it('a deploy run as a group passes _sudoUser and data defaults to every operation in it', async () => {
    const path = join(dir, 'group');
    const app = deploy<{ greeting: string }, { suffix: string }>(
      { name: 'app', defaults: { greeting: 'hello' } },
      async ({ run, ops, fact, host }, { suffix }) => {
        expect(await fact(whoamiFact, {})).toBe('infra-plain');
        await ops.files.template({
          template: '<%= it.data.greeting %> <%= it.suffix %>\n',
          vars: { suffix },
          dest: `${path}/greeting.txt`,
        });
        await run(stampOperation, { path: `${path}/data.txt`, text: String(host.data.greeting) });
      },
    );
    const fn: DeployFunction = async ({ run, ops }) => {
      await ops.files.directory({ path, mode: '777' });
      await run(app, { _sudo: true, _sudoUser: 'infra-plain', suffix: 'world' });
    };
    const first = await run(fn, [localHost('@local')]);
    expect(first.failedHosts).toEqual(new Map());
    expect(statuses(first.executed)).toEqual([
      'files.directory:changed',
      'files.template:changed',
      'test.stamp:changed',
    ]);
    expect(first.executed.map((r) => r.name)).toEqual([
      `files.directory ${path}`,
      `app: files.template ${path}/greeting.txt`,
      `app: test.stamp ${path}/data.txt`,
    ]);
    expect(await readFile(`${path}/greeting.txt`, 'utf8')).toBe('hello world\n');
    expect(await readFile(`${path}/data.txt`, 'utf8')).toBe('hello');
    const owner = (await stat(`${path}/data.txt`)).uid;
    expect(owner).not.toBe(0);
    const second = await run(fn, [localHost('@local', { greeting: 'hello' })]);
    expect(second.ending).toBe('nothing-to-do');
  });

  it('host data overrides a group deploy defaults', async () => {
    const path = join(dir, 'override.txt');
    const app = deploy<{ greeting: string }>({ defaults: { greeting: 'hello' } }, ({ run, host }) =>
      run(stampOperation, { path, text: String(host.data.greeting) }).then(() => {}),
    );
    await run(({ run }) => run(app), [localHost('@local', { greeting: 'bonjour' })]);
    expect(await readFile(path, 'utf8')).toBe('bonjour');
  });
});

describe('names and arguments a deploy gets wrong', () => {
  it('a misspelled operation names the closest one', async () => {
    const outcome = await run(
      async ({ ops }) => {
        await (ops.files as unknown as Record<string, (a: object) => Promise<unknown>>).dirctory?.({
          path: '/tmp',
        });
      },
      [localHost('@local')],
      { dry: true },
    );
    expect(outcome.failedHosts.get('@local')?.message).toMatch(
      /No operation files\.dirctory; did you mean files\.directory\?/,
    );
  });

  it('a misspelled group and fact name the closest one', async () => {
    const outcome = await run(
      async ({ ops, facts }) => {
        expect(() => (ops as unknown as Record<string, unknown>).fils).toThrow(
          /No operation group fils; did you mean files\?/,
        );
        expect(() => (facts.server as unknown as Record<string, unknown>).hostnam).toThrow(
          /No fact server\.hostnam; did you mean server\.hostname\?/,
        );
      },
      [localHost('@local')],
      { dry: true },
    );
    expect(outcome.failedHosts.size).toBe(0);
  });

  it('an argument the operation does not take is an error naming it and the valid ones', async () => {
    const outcome = await run(
      async ({ ops }) => {
        await ops.files.directory({ pth: '/tmp/x' } as never);
      },
      [localHost('@local')],
      { dry: true },
    );
    const failure = outcome.failedHosts.get('@local');
    expect(failure?.code).toBe('OPERATION_ARGUMENT_INVALID');
    expect(failure?.message).toContain('files.directory: it takes no argument "pth"');
    expect(failure?.message).toContain('did you mean path?');
    expect(failure?.message).toContain('expected path, present, mode, user, group');
  });

  it('a fact argument the fact does not take is an error naming the valid ones', async () => {
    const outcome = await run(
      async ({ facts }) => {
        await facts.files.file({ pth: '/tmp' } as never);
      },
      [localHost('@local')],
      { dry: true },
    );
    expect(outcome.failedHosts.get('@local')?.message).toContain(
      'fact files.file: it takes no argument "pth" (did you mean path?): expected path.',
    );
  });

  it('run() refuses what is neither an operation nor a deploy', async () => {
    const outcome = await run(
      async ({ run }) => {
        await run({ name: 'x' } as never, {} as never);
      },
      [localHost('@local')],
      { dry: true },
    );
    expect(outcome.failedHosts.get('@local')?.message).toMatch(
      /neither an operation \(defineOperation\) nor a deploy/,
    );
  });
});
