import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  missingTestUsers,
  notRootReason,
  peerMissing,
  type StagedPackages,
  stagePackages,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLI_DIR,
  cleanEnv,
  makeFakeConnectorProject,
  parseEvents,
  runInfra,
  runProgram,
  startInfra,
} from './infra-process.js';

let emptyDir: string;
let fakeProject: string;

beforeAll(async () => {
  // An empty project: only the connectors of the CLI's own install are found.
  emptyDir = await mkdtemp(join(tmpdir(), 'infra-cli-empty-'));
  fakeProject = await makeFakeConnectorProject();
});

afterAll(async () => {
  await rm(emptyDir, { recursive: true, force: true });
  await rm(fakeProject, { recursive: true, force: true });
});

const infra = (args: string[], env?: NodeJS.ProcessEnv) => runInfra(args, { cwd: emptyDir, env });

describe('infra INVENTORY exec against @local', () => {
  it('quotes each word after --, so python3 -c "print(\'a b\')" works', async () => {
    const result = await infra(['@local', 'exec', '--', 'python3', '-c', "print('a b')"]);
    expect(result.stdout).toBe('[@local] a b\n');
    expect(result.stderr).toContain('Summary: 1 host: 1 succeeded');
    expect(result.code).toBe(0);
  });

  it('passes quotes, $, spaces, backslashes and empty words through untouched', async () => {
    const words = ["it's", '$HOME', 'a  b', '"dq"', 'back\\slash', '`id`', '; rm -rf x', ''];
    const result = await infra(['@local', 'exec', '--', 'printf', '%s|\\n', ...words]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(words.map((w) => `[@local] ${w}|\n`).join(''));
  });

  it('exits 0 when every host succeeded and 1 when one failed, naming it', async () => {
    expect((await infra(['@local', 'exec', '--', 'true'])).code).toBe(0);
    const failed = await infra([
      '@local',
      'exec',
      '--',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 7',
    ]);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('[@local] out\n');
    expect(failed.stderr).toContain('[@local:err] err');
    expect(failed.stderr).toContain('[@local] failed: exit code 7');
    expect(failed.stderr).toContain('Summary: 1 host: 0 succeeded, 1 failed (@local)');
  });

  it('exits 2 for usage mistakes, naming the flag and what it expects', async () => {
    const bad = await infra(['@local', 'exec', '--parallel', 'many', '--', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--parallel expects a whole number of hosts, at least 1, got "many"',
    );
    const unknown = await infra(['--frobnicate', '@local', 'exec', '--', 'true']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('Unknown option --frobnicate');
  });

  it('exits 2 for inventory errors, without a stack unless --debug', async () => {
    const result = await infra(['@local:extra', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('@local takes no argument');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const debug = await infra(['@local:extra', 'exec', '--debug', '--', 'true']);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('says which package to install for an unknown connector', async () => {
    const nope = await infra(['@nope', 'exec', '--', 'true']);
    expect(nope.code).toBe(2);
    expect(nope.stderr).toContain('No connector named "nope" is installed');
    expect(nope.stderr).toMatch(/Installed: .*local \(@infra\/connector-local\)/);
    expect(nope.stderr).toContain('"infra.connectors"');
    // The workspace links every connector, so "ssh is not installed" (with its package
    // hint) is checked where only core, local and the CLI are installed: packaging.test.ts.
  });

  it('prints NDJSON events with --json: connect, output lines, result, summary', async () => {
    const result = await infra([
      '@local',
      'exec',
      '--json',
      '--',
      'sh',
      '-c',
      'echo one; echo two >&2; exit 3',
    ]);
    expect(result.code).toBe(1);
    const events = parseEvents(result.stdout);
    expect(events).toEqual([
      { type: 'connect', host: '@local', connector: 'local', success: true },
      { type: 'output', host: '@local', stream: 'stdout', line: 'one' },
      { type: 'output', host: '@local', stream: 'stderr', line: 'two' },
      {
        type: 'result',
        host: '@local',
        success: false,
        status: 'failed',
        exitCode: 3,
        signal: null,
      },
      {
        type: 'summary',
        exitCode: 1,
        hosts: 1,
        succeeded: 0,
        failed: 1,
        interrupted: 0,
        failedHosts: ['@local'],
      },
    ]);
  });

  it('emits an error event with --json when the run cannot start', async () => {
    const result = await infra(['@nope', 'exec', '--json', '--', 'true']);
    expect(result.code).toBe(2);
    expect(parseEvents(result.stdout)).toEqual([
      { type: 'error', code: 'CONNECTOR_NOT_FOUND', message: expect.stringContaining('"nope"') },
    ]);
  });

  it('runs in --chdir and fails the host when the directory is missing', async () => {
    const here = await infra(['@local', 'exec', '--chdir', '/usr/share', '--', 'pwd']);
    expect(here.stdout).toBe('[@local] /usr/share\n');
    const missing = await infra(['@local', 'exec', '--chdir', '/no/such dir', '--', 'pwd']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('/no/such dir');
  });

  it('sets --env variables with their values as typed', async () => {
    const result = await infra([
      '@local',
      'exec',
      '--env',
      'GREETING=hello $USER `id` world',
      '--env=EMPTY=',
      '--',
      'sh',
      '-c',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, for sh
      'printf "%s|%s|\\n" "$GREETING" "${EMPTY-unset}"',
    ]);
    expect(result.stdout).toBe('[@local] hello $USER `id` world||\n');
  });

  it('marks stderr with colour when FORCE_COLOR is set, and never with NO_COLOR', async () => {
    const args = ['@local', 'exec', '--', 'sh', '-c', 'echo bad >&2'];
    const coloured = await runInfra(args, { cwd: emptyDir, env: cleanEnv({ FORCE_COLOR: '1' }) });
    expect(coloured.stderr).toContain('\x1b[31mbad\x1b[0m');
    const plain = await runInfra(args, {
      cwd: emptyDir,
      env: cleanEnv({ FORCE_COLOR: '1', NO_COLOR: '1' }),
    });
    expect(plain.stderr).not.toContain('\x1b[');
    expect(plain.stderr).toContain('[@local:err] bad');
  });

  it('shows help for every command and the version', async () => {
    const help = await infra(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: infra INVENTORY exec');
    const execHelp = await infra(['@local', 'exec', '--help']);
    expect(execHelp.stdout).toContain('--use-sudo-password');
    const connectorsHelp = await infra(['connectors', '--help']);
    expect(connectorsHelp.stdout).toContain('Usage: infra connectors');
    const manifest = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    );
    expect((await infra(['--version'])).stdout).toBe(`${manifest.version}\n`);
  });

  it('stops on Ctrl-C: kills the running command, disconnects and exits 130', async () => {
    const child = startInfra(
      ['@local', 'exec', '--', 'sh', '-c', 'echo $$; exec sleep 60'],
      emptyDir,
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const pid = await new Promise<number>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const match = /\[@local\] (\d+)\n/.exec(stdout);
        if (match) resolve(Number(match[1]));
      });
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('close', (code) => resolve(code)),
    );
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('[@local] interrupted');
    expect(stderr).toContain('1 interrupted');
    expect(processAlive(pid)).toBe(false);
  });
});

/** True while `pid` runs (a zombie does not count). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return !/\) Z /.test(readStat(pid));
}

function readStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ') Z ';
  }
}

describe('infra connectors', () => {
  it('lists the local connector with its package, version and role', async () => {
    const result = await infra(['connectors']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^local {2}@infra\/connector-local@\S+ {2}\(executes commands\)$/m,
    );
  });

  it('lists data keys with types, defaults and secrets, as JSON too', async () => {
    const text = await runInfra(['connectors'], { cwd: fakeProject });
    expect(text.stdout).toContain('fake  infra-cli-test-project@');
    expect(text.stdout).toMatch(/fake_token +string +A token \[secret\]/);
    expect(text.stdout).toMatch(/fake_greeting +string +Said on connect \[default "hello"\]/);
    const json = await runInfra(['connectors', '--json'], { cwd: fakeProject });
    const listings = parseEvents(json.stdout);
    const byName = new Map(listings.map((l) => [l.name, l]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['fake', 'inv', 'local']));
    expect(byName.get('inv')).toMatchObject({ handlesExecution: false, dataKeys: [] });
    expect(text.stdout).toMatch(
      /^inv {2}infra-cli-test-project@\S+ {2}\(generates inventory only\)$/m,
    );
    expect(byName.get('fake')).toMatchObject({
      type: 'connector',
      handlesExecution: true,
      origin: 'project',
      dataKeys: expect.arrayContaining([
        expect.objectContaining({ key: 'fake_token', secret: true, type: 'string' }),
      ]),
    });
  });
});

describe('several hosts', () => {
  const inFake = (args: string[]) => runInfra(args, { cwd: fakeProject });

  it('prefixes every line with its host and fails only the hosts that failed', async () => {
    const result = await inFake([
      '@fake:h1+h2+h3',
      'exec',
      '--',
      'sh',
      '-c',
      'echo "I am $FAKE_HOST"; [ "$FAKE_HOST" != h2 ]',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').sort()).toEqual([
      '',
      '[h1] I am h1',
      '[h2] I am h2',
      '[h3] I am h3',
    ]);
    expect(result.stderr).toContain('[h2] failed: exit code 1');
    expect(result.stderr).toContain('Summary: 3 hosts: 2 succeeded, 1 failed (h2)');
  });

  it('runs every host at once by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-cli-barrier-'));
    // Each host waits (at most 20 s) until all three have arrived: only parallel runs pass.
    const barrier = `touch "${dir}/$FAKE_HOST"; i=0; while [ $(ls "${dir}" | wc -l) -lt 3 ]; do i=$((i+1)); [ $i -gt 400 ] && exit 9; sleep 0.05; done`;
    const result = await inFake(['@fake:p1+p2+p3', 'exec', '--', 'sh', '-c', barrier]);
    await rm(dir, { recursive: true, force: true });
    expect(result.code).toBe(0);
  });

  it('runs one host after the other with --parallel 1', async () => {
    const result = await inFake([
      '@fake:s1+s2+s3',
      'exec',
      '--parallel',
      '1',
      '--',
      'sh',
      '-c',
      'echo start; sleep 0.1; echo end',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      ['s1', 's2', 's3'].map((h) => `[${h}] start\n[${h}] end\n`).join(''),
    );
  });

  it('fails a host that cannot connect, with a connect event in --json', async () => {
    const text = await inFake([
      '@fake:c1',
      'exec',
      '--data',
      'fake_unreachable=true',
      '--',
      'true',
    ]);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain(
      '[c1] could not connect: Could not connect to c1: unreachable on purpose',
    );
    const json = await inFake([
      '@fake:c1',
      'exec',
      '--json',
      '--data',
      'fake_unreachable=true',
      '--',
      'true',
    ]);
    expect(json.code).toBe(1);
    expect(parseEvents(json.stdout).slice(0, 2)).toEqual([
      {
        type: 'connect',
        host: 'c1',
        connector: 'fake',
        success: false,
        error: {
          code: 'CONNECT_FAILED',
          message: 'Could not connect to c1: unreachable on purpose',
        },
      },
      expect.objectContaining({
        type: 'result',
        host: 'c1',
        status: 'connect-failed',
        success: false,
      }),
    ]);
  });

  it('says more with -v: connections and results', async () => {
    const result = await inFake([
      '@fake:v1',
      'exec',
      '-v',
      '--data',
      'fake_token=abcd1234',
      '--',
      'true',
    ]);
    expect(result.stderr).toContain('[v1] connected');
    expect(result.stderr).toContain('info: [v1] hello, token ***');
    expect(result.stderr).toContain('[v1] succeeded (exit code 0)');
  });

  it('runs the hosts an inventory-only connector yields through their own connector', async () => {
    const result = await inFake(['@inv', 'exec', '-v', '--', 'sh', '-c', 'echo "$FAKE_HOST"']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('[@fake] @fake\n');
    expect(result.stderr).toContain('info: [@fake] hi from inventory, token undefined');
  });

  it("follows inventory connectors that yield inventory connectors, the outer one's data winning", async () => {
    const result = await inFake([
      '@inv:nested',
      'exec',
      '-v',
      '--',
      'sh',
      '-c',
      'echo "$FAKE_HOST"',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('[@fake] @fake\n');
    expect(result.stderr).toContain('info: [@fake] hi from nested, token undefined');
    const shown = await inFake(['@inv:nested', 'debug-inventory']);
    expect(shown.code).toBe(0);
    const host = JSON.parse(shown.stdout).hosts['@fake'];
    expect(host).toMatchObject({
      connector: 'fake',
      via: ['@inv:nested', '@inv'],
      groups: ['nested', 'from-inventory', 'fake'],
    });
    expect(JSON.stringify(host)).toContain('"fake_pin":"***"');
  });

  it('refuses an inventory connector that yields itself, naming the loop', async () => {
    const result = await inFake(['@inv:loop', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Inventory connectors loop: "@inv:loop" -> "@inv:loop"');
  });

  it('refuses a host named twice', async () => {
    const result = await inFake(['@fake:a+b,@fake:b', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Host "b" appears twice');
  });
});

describe('secrets never appear in output', () => {
  const token = 'tok-SECRET-4711-value';

  it('masks a secret --data value in --debug, -vv, --json and connector logs', async () => {
    const result = await runInfra(
      [
        '@fake:m1',
        'exec',
        '--data',
        `fake_token=${token}`,
        '--debug',
        '-vv',
        '--json',
        '--',
        'echo',
        'done',
      ],
      { cwd: fakeProject },
    );
    expect(result.code).toBe(0);
    expect(parseEvents(result.stdout).map((e) => e.type)).toEqual([
      'connect',
      'output',
      'result',
      'summary',
    ]);
    expect(result.stderr).toContain('"fake_token":"***"');
    expect(result.stderr).toContain('hello, token ***');
    expect(result.stderr).toContain('raw token ***');
    expect(`${result.stdout}${result.stderr}`).not.toContain(token);
  });

  it('takes a secret from the environment with --data-env, off the command line', async () => {
    const args = [
      '@fake:m3',
      'exec',
      '--data-env',
      'fake_token=FAKE_TOKEN_FROM_ENV',
      '--debug',
      '--',
      'echo',
      'done',
    ];
    const result = await runInfra(args, {
      cwd: fakeProject,
      env: cleanEnv({ FAKE_TOKEN_FROM_ENV: token }),
    });
    expect(result.code).toBe(0);
    // The connector got the token (it logs it raw; the CLI masks it), and no argument held it.
    expect(result.stderr).toContain('raw token ***');
    expect(args.join(' ')).not.toContain(token);
    expect(`${result.stdout}${result.stderr}`).not.toContain(token);

    const unset = await runInfra(args, { cwd: fakeProject, env: cleanEnv() });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('the environment variable FAKE_TOKEN_FROM_ENV is not set');
  });

  it('keeps a secret out of a data error', async () => {
    const result = await runInfra(
      ['@fake:m2', 'exec', '--data', `fake_pin=${token}`, '--', 'true'],
      { cwd: fakeProject },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Host "m2": data fake_pin is string, expected an integer');
    expect(`${result.stdout}${result.stderr}`).not.toContain(token);
  });

  it('keeps the sudo password (INFRA_SUDO_PASSWORD) out of the --debug command and --json', async () => {
    const password = 'pw-SECRET-0815-value';
    const result = await runInfra(
      ['@local', 'exec', '--sudo', '--use-sudo-password', '--debug', '--json', '--', 'echo', 'ok'],
      { cwd: emptyDir, env: cleanEnv({ INFRA_SUDO_PASSWORD: password }) },
    );
    expect(result.code).toBe(0);
    // The password goes on stdin: the command line holds only the askpass plumbing.
    expect(result.stderr).toMatch(/command: IFS= read -r __infra_pw/);
    expect(result.stderr).toMatch(/sudo -H -A -p /);
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
  });
});

describe('the sudo password up front', () => {
  it('exits 2 with --use-sudo-password when there is no terminal and no INFRA_SUDO_PASSWORD', async () => {
    const result = await infra(['@local', 'exec', '--sudo', '--use-sudo-password', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('set INFRA_SUDO_PASSWORD');
  });
});

const becomeSkip = peerMissing(
  'sudo and the test users',
  notRootReason() ??
    (missingTestUsers().length > 0
      ? `missing test users ${missingTestUsers().join(', ')} (run scripts/setup-test-host.sh)`
      : undefined),
);

describe.skipIf(becomeSkip !== undefined)('become flags against real sudo', () => {
  it('runs as another user with --sudo --sudo-user', async () => {
    const result = await infra([
      '@local',
      'exec',
      '--sudo',
      '--sudo-user',
      TEST_USERS.plain.name,
      '--',
      'id',
      '-un',
    ]);
    expect(result.stdout).toBe(`[@local] ${TEST_USERS.plain.name}\n`);
    expect(result.code).toBe(0);
  });

  it('runs as another user with --su-user', async () => {
    const result = await infra([
      '@local',
      'exec',
      '--su-user',
      TEST_USERS.plain.name,
      '--',
      'id',
      '-un',
    ]);
    expect(result.stdout).toBe(`[@local] ${TEST_USERS.plain.name}\n`);
  });

  // The CLI itself runs as the user whose sudo wants a password, from a copy outside the
  // clone (which may sit in a folder that user cannot enter: mktemp -d, root's home).
  let staged: StagedPackages;
  beforeAll(async () => {
    staged = await stagePackages(['@infra/cli', '@infra/connector-local'], { from: CLI_DIR });
  });
  afterAll(() => staged?.remove());

  const asSudoPasswordUser = (env: Record<string, string>, args: string[]) =>
    runProgram(
      'sudo',
      [
        '-u',
        TEST_USERS.sudoPassword.name,
        'env',
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        process.execPath,
        join(staged.packageDir('@infra/cli'), 'dist', 'bin.js'),
        ...args,
      ],
      {
        cwd: '/',
        env: cleanEnv(),
      },
    );

  it('asks sudo for the password from INFRA_SUDO_PASSWORD once sudo wants one, and masks it', async () => {
    const password = TEST_USERS.sudoPassword.password;
    const result = await asSudoPasswordUser({ INFRA_SUDO_PASSWORD: password }, [
      '@local',
      'exec',
      '--sudo',
      '--debug',
      '--',
      'id',
      '-un',
    ]);
    expect(result.stdout).toBe('[@local] root\n');
    expect(result.code).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
  });

  it('fails the host with a clear error when sudo wants a password and none can be had', async () => {
    const result = await asSudoPasswordUser({}, ['@local', 'exec', '--sudo', '--', 'id', '-un']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('set INFRA_SUDO_PASSWORD');
  });

  it('keeps a wrong sudo password out of the output', async () => {
    const wrong = 'wrong-SECRET-pw-1234';
    const result = await asSudoPasswordUser({ INFRA_SUDO_PASSWORD: wrong }, [
      '@local',
      'exec',
      '--sudo',
      '--use-sudo-password',
      '--debug',
      '--json',
      '--',
      'id',
      '-un',
    ]);
    expect(result.code).toBe(1);
    expect(`${result.stdout}${result.stderr}`).not.toContain(wrong);
  });
});
