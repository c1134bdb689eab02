import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Connector, type FileOptions, MaskString, sh } from '@infra/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { notRootReason } from './peer.js';
import { type ProcessScanner, processScanner } from './process-scan.js';
import { TEST_USERS } from './test-users.js';

export interface SecretScanOptions {
  /** The suite's connector (its login user needs no password for sudo: root or NOPASSWD). */
  connector: () => Connector;
  /** The sudo arguments of the suite (`sudo`, `sudoUser`). */
  sudoArgs: FileOptions;
  /** A connector logged in as `TEST_USERS.sudoPassword`, whose sudo asks for the password. */
  connectAsSudoPasswordUser?: (() => Promise<Connector>) | undefined;
}

async function runOk(connector: Connector, command: ReturnType<typeof sh> | string) {
  const result = await connector.runShellCommand(command);
  if (!result.success) {
    throw new Error(`${String(command)} failed: ${result.output.combined}`);
  }
  return result.output.stdout;
}

/**
 * Run a command with sudo and a password that waits, after printing `ready`, on a
 * FIFO; scan every process as `nobody` while it waits, then let it go. The
 * command prints what it got on stdin first, so the test sees that the password
 * line did not reach it.
 */
async function scanWhileRunning(
  scanner: ProcessScanner,
  connector: Connector,
  args: FileOptions,
  password: string,
  stdin: string | undefined,
) {
  const dir = await runOk(connector, 'd=$(mktemp -d) && chmod 755 "$d" && printf %s "$d"');
  const go = `${dir}/go`;
  try {
    await runOk(connector, sh`mkfifo -m 666 ${go}`);
    let onReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    const running = connector.runShellCommand(
      sh`printf 'user:%s\n' "$(id -un)"; printf 'stdin:'; cat; echo; echo ready; cat ${go} >/dev/null`,
      {
        ...args,
        sudoPassword: new MaskString(password),
        timeout: 60,
        ...(stdin === undefined ? {} : { stdin }),
        onOutput: (line) => {
          if (line.line === 'ready') onReady();
        },
      },
    );
    // A command that fails before `ready` ends the wait too.
    let ended = false;
    await Promise.race([ready, running.finally(() => (ended = true))]);
    const scan = await scanner.scanOnce(password);
    if (!ended) await runOk(connector, sh`echo go > ${go}`);
    const result = await running;
    return { scan, result };
  } finally {
    await connector.runShellCommand(sh`rm -rf ${dir}`).catch(() => undefined);
  }
}

/**
 * "No secret in any process's arguments or environment": while a command run
 * with sudo and a password is running, and while files move as the sudo user,
 * no process another user can look at (`/proc/PID/cmdline`, `/proc/PID/environ`)
 * holds the password. Registered by `describeConnector` for connectors with sudo.
 */
export function describeSudoSecretScan(options: SecretScanOptions): void {
  const skip = notRootReason();
  let scanner: ProcessScanner | undefined;

  beforeAll(async () => {
    if (!skip) scanner = await processScanner();
  });
  afterAll(async () => {
    await scanner?.dispose();
  });

  const secret = () => `infra-scan-secret-${randomBytes(8).toString('hex')}`;
  const user = options.sudoArgs.sudoUser ?? 'root';

  it.skipIf(skip)(
    'shows the sudo password in no process arguments or environment (command without stdin)',
    async () => {
      const password = secret();
      const { scan, result } = await scanWhileRunning(
        scanner!,
        options.connector(),
        options.sudoArgs,
        password,
        undefined,
      );
      expect(scan.readable).toBeGreaterThan(0);
      expect(scan.hits).toEqual([]);
      expect(result.output.stdout).toBe(`user:${user}\nstdin:\nready`);
    },
  );

  it.skipIf(skip)(
    'shows the sudo password in no process arguments or environment (command with stdin)',
    async () => {
      const password = secret();
      const { scan, result } = await scanWhileRunning(
        scanner!,
        options.connector(),
        options.sudoArgs,
        password,
        'the command\'s own "input"',
      );
      expect(scan.hits).toEqual([]);
      expect(result.output.stdout).toBe(`user:${user}\nstdin:the command's own "input"\nready`);
    },
  );

  it.skipIf(skip)(
    'shows the sudo password in no process while files move as the sudo user',
    async () => {
      const connector = options.connector();
      const password = secret();
      const args: FileOptions = { ...options.sudoArgs, sudoPassword: new MaskString(password) };
      const dir = await runOk(connector, 'd=$(mktemp -d) && chmod 777 "$d" && printf %s "$d"');
      const localDir = await mkdtemp(join(tmpdir(), 'infra-secret-scan-'));
      const bytes = randomBytes(4 * 1024 * 1024);
      const scanning = await scanner!.startScanning(password);
      let scan: Awaited<ReturnType<typeof scanning.stop>>;
      try {
        await connector.putFile(bytes, `${dir}/file.bin`, args);
        await connector.getFile(`${dir}/file.bin`, join(localDir, 'file.bin'), args);
        await connector.runShellCommand('test -d /', args);
      } finally {
        scan = await scanning.stop();
        await connector.runShellCommand(sh`rm -rf ${dir}`).catch(() => undefined);
      }
      expect((await readFile(join(localDir, 'file.bin'))).equals(bytes)).toBe(true);
      await rm(localDir, { recursive: true, force: true });
      expect(scan.passes).toBeGreaterThan(0);
      expect(scan.hits).toEqual([]);
    },
  );

  it.skipIf(skip || options.connectAsSudoPasswordUser === undefined)(
    'shows the password nowhere when sudo asks for it (as the password-required test user)',
    async () => {
      const connector = await options.connectAsSudoPasswordUser!();
      try {
        const { scan, result } = await scanWhileRunning(
          scanner!,
          connector,
          { sudo: true, sudoUser: TEST_USERS.plain.name },
          TEST_USERS.sudoPassword.password,
          'input',
        );
        expect(scan.hits).toEqual([]);
        expect(result.output.stdout).toBe(`user:${TEST_USERS.plain.name}\nstdin:input\nready`);
      } finally {
        await connector.disconnect();
      }
    },
  );
}
