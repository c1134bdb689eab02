// `--use-sudo-password` in deploys, ad hoc operations and facts (exec has its own tests):
// the CLI runs as the test user whose sudo asks for a password, from a copy outside the
// clone, and takes the password up front (INFRA_SUDO_PASSWORD), so sudo gets it with the
// first command instead of failing `sudo -n` first; without one it stops before connecting.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { CLI_DIR, cleanEnv, type ProcessResult, parseEvents, runProgram } from './infra-process.js';

const skip = peerMissing(
  'sudo and the test users',
  notRootReason() ??
    (missingTestUsers().length > 0 ? 'run scripts/setup-test-host.sh as root' : undefined),
);
const { name: user, password } = TEST_USERS.sudoPassword;

describe.skipIf(skip !== undefined)('--use-sudo-password with a user whose sudo wants one', () => {
  let staged: StagedPackages;
  let dir: string;

  beforeAll(async () => {
    staged = await stagePackages(['@infra/cli', '@infra/connector-local'], { from: CLI_DIR });
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-use-sudo-password-'));
    await chmod(dir, 0o755);
    await writeFile(
      join(dir, 'deploy.ts'),
      "import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  await ops.server.shell({ commands: 'id -un', name: 'Who' });\n});\n",
    );
    await chmod(join(dir, 'deploy.ts'), 0o644);
  });

  afterAll(async () => {
    await staged?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const asUser = (env: Record<string, string>, args: string[]) =>
    runProgram(
      'sudo',
      [
        '-u',
        user,
        'env',
        ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
        process.execPath,
        join(staged.packageDir('@infra/cli'), 'dist', 'bin.js'),
        ...args,
      ],
      { cwd: dir, env: cleanEnv() },
    );

  /** The sudo command lines the run sent, from its JSON events. */
  const sudoCommands = (stdout: string) =>
    parseEvents(stdout)
      .filter((event) => event.type === 'command')
      .map((event) => String(event.command));

  /** One sudo command, the password on its stdin (never in it), run as root, and the password shown nowhere. */
  const expectPasswordWithFirstSudo = (result: ProcessResult) => {
    expect(result.code).toBe(0);
    const commands = sudoCommands(result.stdout);
    expect(commands).toHaveLength(1);
    expect(commands[0]).toContain('read -r __infra_pw'); // the password goes on stdin, not in the command
    expect(commands[0]).not.toMatch(/sudo -H -n/);
    expect(result.stdout).toContain('"line":"root"');
    expect(result.stdout + result.stderr).not.toContain(password);
  };

  it('a deploy sends the password with the first sudo command', async () => {
    const result = await asUser({ INFRA_SUDO_PASSWORD: password }, [
      '@local',
      'deploy.ts',
      '--sudo',
      '--use-sudo-password',
      '-y',
      '--json',
    ]);
    expectPasswordWithFirstSudo(result);
  });

  it('an ad hoc operation sends the password with the first sudo command', async () => {
    const result = await asUser({ INFRA_SUDO_PASSWORD: password }, [
      '@local',
      'server.shell',
      'commands=id -un',
      '--sudo',
      '--use-sudo-password',
      '-y',
      '--json',
    ]);
    expectPasswordWithFirstSudo(result);
  });

  it('a fact runs with it', async () => {
    const result = await asUser({ INFRA_SUDO_PASSWORD: password }, [
      '@local',
      'fact',
      'files.file',
      'path=/etc/sudoers',
      '--sudo',
      '--use-sudo-password',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)['@local']).toMatchObject({ type: 'file', user: 'root' });
    expect(result.stdout + result.stderr).not.toContain(password);
  });

  it.each([
    ['a deploy', ['deploy.ts', '-y']],
    ['an ad hoc operation', ['server.shell', 'commands=id -un', '-y']],
    ['a fact', ['fact', 'server.os']],
  ])('%s without a password to be had stops before connecting, exit 2', async (_, args) => {
    const result = await asUser({}, ['@local', ...args, '--sudo', '--use-sudo-password']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('INFRA_SUDO_PASSWORD');
    expect(result.stdout).not.toContain('root');
  });
});
