// The questions the CLI asks on a real terminal (a pty from util-linux `script`): the sudo
// password and an encrypted ssh key's passphrase, typed with no echo. Core and the
// connectors read no terminal: a library run on a terminal, without a prompt, gets the
// error that names the key file instead of a question.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  missingTestUsers,
  notRootReason,
  peerMissing,
  type SshdFixture,
  type StagedPackages,
  sshdMissingReason,
  stagePackages,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI_DIR, cleanEnv, INFRA_BIN, REPO_ROOT } from './infra-process.js';
import { type PtyProgram, ptyMissingReason, startOnPty as startProgram } from './pty.js';

const started: PtyProgram[] = [];
const startOnPty = (...args: Parameters<typeof startProgram>) => {
  const program = startProgram(...args);
  started.push(program);
  return program;
};
afterEach(() => {
  for (const program of started.splice(0)) program.kill();
});

const ptySkip = peerMissing('a pty (util-linux script)', ptyMissingReason());
const sshSkip = ptySkip ?? peerMissing('sshd', sshdMissingReason());
const sudoSkip =
  ptySkip ??
  peerMissing(
    'sudo and the test users',
    notRootReason() ??
      (missingTestUsers().length > 0 ? 'run scripts/setup-test-host.sh as root' : undefined),
  );

describe.skipIf(sshSkip !== undefined)('an encrypted ssh key on a terminal', () => {
  let sshd: SshdFixture;
  let dir: string;
  let knownHosts: string;

  beforeAll(async () => {
    sshd = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-prompt-'));
    knownHosts = join(dir, 'known_hosts');
  });

  afterAll(async () => {
    await sshd?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the CLI asks for the passphrase with no echo, once, and logs in', async () => {
    const { passphrase, privateKeyPath } = sshd.encryptedKey;
    const program = startOnPty(
      [
        process.execPath,
        INFRA_BIN,
        '@ssh:127.0.0.1',
        'exec',
        '--data',
        `ssh_port=${sshd.port}`,
        '--data',
        `ssh_user=${TEST_USERS.plain.name}`,
        '--data',
        `ssh_key=${privateKeyPath}`,
        '--data',
        `ssh_known_hosts_file=${knownHosts}`,
        '--data',
        'ssh_allow_agent=false',
        '--',
        'id',
        '-un',
      ],
      { cwd: dir, env: cleanEnv() },
    );
    await program.waitFor(`Enter passphrase for key ${privateKeyPath}: `);
    program.type(`${passphrase}\r`);
    expect(await program.exit).toBe(0);
    const shown = program.output();
    expect(shown).toContain(TEST_USERS.plain.name);
    expect(shown).not.toContain(passphrase);
    expect(shown.match(/Enter passphrase/g)).toHaveLength(1);
  });

  it('a library run on a terminal, without a prompt, fails naming the key file instead of asking', async () => {
    const { privateKeyPath } = sshd.encryptedKey;
    const script = join(dir, 'library-connect.mjs');
    const entry = (path: string) => pathToFileURL(join(REPO_ROOT, path)).href;
    await writeFile(
      script,
      [
        `import { buildConnectorData, noSudoPassword } from ${JSON.stringify(entry('packages/core/dist/index.js'))};`,
        `import { SSH_DATA_META, SshConnector } from ${JSON.stringify(entry('packages/connector-ssh/dist/index.js'))};`,
        `const hostData = ${JSON.stringify({
          ssh_hostname: '127.0.0.1',
          ssh_port: sshd.port,
          ssh_user: TEST_USERS.plain.name,
          ssh_key: privateKeyPath,
          ssh_known_hosts_file: knownHosts,
          ssh_allow_agent: false,
        })};`,
        'const quiet = () => {};',
        'const connector = new SshConnector({',
        "  name: 'lib', data: buildConnectorData('ssh', SSH_DATA_META, hostData), hostData,",
        '  log: { debug: quiet, info: quiet, warn: quiet }, sudoPassword: noSudoPassword,',
        '});',
        'try { await connector.connect(); console.log("CONNECTED"); }',
        'catch (error) { console.log(["FAILED", error.constructor.name, error.code + ":", error.message].join(" ")); }',
        'await connector.disconnect();',
      ].join('\n'),
    );
    const program = startOnPty([process.execPath, script], { cwd: dir, env: cleanEnv() });
    // Before the prompt moved to the CLI, this waited at "Enter passphrase" on the terminal.
    expect(await program.exit).toBe(0);
    const shown = program.output();
    expect(shown).not.toContain('Enter passphrase');
    expect(shown).toContain('FAILED ConnectError CONNECT_FAILED');
    expect(shown).toContain(`key ${privateKeyPath} is encrypted`);
    expect(shown).toContain('ssh_key_password');
  });
});

describe.skipIf(sudoSkip !== undefined)('the sudo password on a terminal', () => {
  let staged: StagedPackages;
  let dir: string;

  beforeAll(async () => {
    // Run as the password-sudo user, from a copy outside the clone (which may be mode 0700).
    staged = await stagePackages(['@infra/cli', '@infra/connector-local'], { from: CLI_DIR });
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-sudo-prompt-'));
    await chmod(dir, 0o755);
  });

  afterAll(async () => {
    await staged?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is asked when sudo wants it, with no echo, and the command runs as root', async () => {
    const { name, password } = TEST_USERS.sudoPassword;
    const program = startOnPty(
      [
        // runuser, not sudo -u: sudo's own pty would relay (and for a moment echo) the typing.
        'runuser',
        '-u',
        name,
        '--',
        process.execPath,
        join(staged.packageDir('@infra/cli'), 'dist', 'bin.js'),
        '@local',
        'exec',
        '--sudo',
        '--',
        'id',
        '-un',
      ],
      { cwd: dir, env: cleanEnv() },
    );
    await program.waitFor('sudo password: ');
    program.type(`${password}\r`);
    expect(await program.exit).toBe(0);
    const shown = program.output();
    expect(shown).toMatch(/\broot\b/);
    expect(shown).not.toContain(password);
  });
});
