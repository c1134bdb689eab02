import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestHost, peerMissing, stagePackages, TEST_USERS } from '@infra/connector-testkit';
import { MaskString, type OutputLine, sh } from '@infra/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalConnector } from '../src/index.js';
import { becomeMissingReason } from './become-peer.js';

const execFileAsync = promisify(execFile);
const becomeSkip = peerMissing('sudo / su / doas as root', becomeMissingReason());
const plainUser = TEST_USERS.plain.name;
const packageDir = fileURLToPath(new URL('..', import.meta.url));

let dir: string;
let connector: LocalConnector;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-local-e2e-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await connector?.disconnect();
});

function newConnector(): LocalConnector {
  connector = new LocalConnector(createTestHost({ name: '@local' }));
  return connector;
}

async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** True once the process is gone or a zombie (polls /proc for at most ~5 s). */
async function processGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try {
      const status = await readFile(`/proc/${pid}/stat`, 'utf8');
      if (status.slice(status.lastIndexOf(')') + 2).startsWith('Z')) return true;
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/** The pids of the processes whose command line holds `text`. */
async function commandLinesContaining(text: string): Promise<string[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  const hits: string[] = [];
  for (const pid of pids) {
    const commandLine = await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0));
    if (commandLine.includes(text)) hits.push(pid);
  }
  return hits;
}

async function readPid(path: string): Promise<number> {
  return Number((await readFile(path, 'utf8')).trim());
}

/**
 * Run test/run-as-sudopw.mjs as the user whose sudo wants a password. The clone may sit
 * in a folder that user cannot enter (mktemp -d, root's home): a copy of the script and
 * the packages it imports runs from a folder it can read. Resolves with its stdout.
 */
async function runAsSudoPasswordUser(...extra: string[]): Promise<string> {
  const staged = await stagePackages(['@infra/connector-local', '@infra/core'], {
    from: packageDir,
    scripts: [fileURLToPath(new URL('./run-as-sudopw.mjs', import.meta.url))],
  });
  const { stdout } = await execFileAsync('runuser', [
    '-u',
    TEST_USERS.sudoPassword.name,
    '--',
    process.execPath,
    staged.script('run-as-sudopw.mjs'),
    TEST_USERS.sudoPassword.password,
    ...extra,
  ]).finally(() => staged.remove());
  return stdout;
}

describe('runShellCommand', () => {
  it('streams output lines to onOutput while the command is still running', async () => {
    const local = newConnector();
    const input = new PassThrough();
    const seen: OutputLine[] = [];
    // The command waits for a line on stdin that is only sent once `ready` has
    // been seen: without streaming, this never finishes.
    const result = await local.runShellCommand('echo ready; read answer; echo "got $answer"', {
      stdin: input,
      onOutput: (line) => {
        seen.push(line);
        if (line.line === 'ready') input.end('go\n');
      },
    });
    expect(result.success).toBe(true);
    expect(seen.map((l) => l.line)).toEqual(['ready', 'got go']);
  });

  it('gives the command /dev/null as stdin when none is given', async () => {
    const result = await newConnector().runShellCommand('readlink /proc/self/fd/0; cat; echo end');
    expect(result.output.stdoutLines).toEqual(['/dev/null', 'end']);
  });

  it('feeds a large binary stream to stdin intact', async () => {
    const bytes = randomBytes(5 * 1024 * 1024);
    const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 70_000), bytes.subarray(70_000)];
    const result = await newConnector().runShellCommand('sha256sum', {
      stdin: Readable.from(chunks),
    });
    expect(result.output.stdout.split(' ')[0]).toBe(
      createHash('sha256').update(bytes).digest('hex'),
    );
  });

  it('reports the signal that killed the command', async () => {
    const result = await newConnector().runShellCommand('kill -TERM $$');
    expect(result.success).toBe(false);
    expect(result.output.signal).toBe('SIGTERM');
    expect(result.output.exitCode).toBeNull();
  });

  it('returns 100 MB of output, line by line, as it streams', async () => {
    const line = 'x'.repeat(999);
    const total = 100 * 1024 * 1024;
    let streamedLines = 0;
    let streamedBytes = 0;
    const result = await newConnector().runShellCommand(sh`yes ${line} | head -c ${total}`, {
      onOutput: ({ line: text }) => {
        streamedLines++;
        streamedBytes += text.length + 1;
      },
    });
    expect(result.success).toBe(true);
    const fullLines = Math.floor(total / 1000);
    const lastLength = total - fullLines * 1000;
    expect(streamedLines).toBe(fullLines + 1);
    expect(streamedBytes - 1).toBe(total);
    expect(result.output.stdoutLines.length).toBe(fullLines + 1);
    expect(result.output.stdoutLines.at(-1)).toBe('x'.repeat(lastLength));
  });

  it('kills the whole process group on timeout, even a grandchild that ignores SIGTERM', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const error = await errorOf(
      newConnector().runShellCommand(
        sh`sh -c 'trap "" TERM; sleep 300' & echo $! > ${pidFile}; wait`,
        { timeout: 1 },
      ),
    );
    expect(error.code).toBe('COMMAND_TIMEOUT');
    expect(error.message).toContain('sh -c \'trap "" TERM; sleep 300\'');
    expect(error.message).toContain('1s');
    expect(await processGone(await readPid(pidFile))).toBe(true);
  });

  it('does not wait for a process that left the group but holds the output pipe', async () => {
    const pidFile = join(dir, 'escaped.pid');
    const error = await errorOf(
      newConnector().runShellCommand(sh`setsid sleep 300 & echo $! > ${pidFile}; wait`, {
        timeout: 1,
      }),
    );
    expect(error.code).toBe('COMMAND_TIMEOUT');
    const escaped = await readPid(pidFile);
    // It escaped the group on purpose: clean it up ourselves.
    process.kill(escaped, 'SIGKILL');
    expect(await processGone(escaped)).toBe(true);
  });

  it('kills the process group when the signal aborts, and rejects with its reason', async () => {
    const pidFile = join(dir, 'aborted.pid');
    const controller = new AbortController();
    const reason = new Error('stop now');
    const error = await errorOf(
      newConnector().runShellCommand(sh`sleep 300 & echo $! > ${pidFile}; echo started; wait`, {
        signal: controller.signal,
        onOutput: ({ line }) => {
          if (line === 'started') controller.abort(reason);
        },
      }),
    );
    expect(error).toBe(reason);
    expect(await processGone(await readPid(pidFile))).toBe(true);
  });

  it('does not start a command when the signal is already aborted', async () => {
    const marker = join(dir, 'never-made');
    const error = await errorOf(
      newConnector().runShellCommand(sh`touch ${marker}`, { signal: AbortSignal.abort() }),
    );
    expect(error.name).toBe('AbortError');
    await expect(stat(marker)).rejects.toThrow();
  });

  it('retries a failing command', async () => {
    const counter = join(dir, 'counter');
    const result = await newConnector().runShellCommand(
      sh`n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n + 1)) > ${counter}; [ "$n" -ge 2 ]`,
      { retries: 3, retryDelay: 0 },
    );
    expect(result.success).toBe(true);
    expect((await readFile(counter, 'utf8')).trim()).toBe('3');

    const gaveUp = await connector.runShellCommand('exit 4', { retries: 1 });
    expect(gaveUp.success).toBe(false);
    expect(gaveUp.output.exitCode).toBe(4);
  });

  it('refuses to retry with a stream as stdin, which can be read once', async () => {
    const error = await errorOf(
      newConnector().runShellCommand('cat', { retries: 2, stdin: Readable.from(['x']) }),
    );
    expect(error.code).toBe('COMMAND_ARGUMENT_INVALID');
    expect(error.message).toContain('stdin');
  });

  it('kills running process groups on disconnect, and disconnect can be called again', async () => {
    const pidFile = join(dir, 'disconnect.pid');
    const local = newConnector();
    let started!: () => void;
    const isStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const running = local.runShellCommand(
      sh`sleep 300 & echo $! > ${pidFile}; echo started; wait`,
      {
        onOutput: ({ line }) => {
          if (line === 'started') started();
        },
      },
    );
    await isStarted;
    await local.disconnect();
    const result = await running;
    expect(result.success).toBe(false);
    expect(result.output.signal).toBe('SIGKILL');
    expect(await processGone(await readPid(pidFile))).toBe(true);
    await local.disconnect();
  });

  it('keeps a MaskString out of every process argument list and from child environments', async () => {
    const secretText = `infra-argv-secret-${randomBytes(6).toString('hex')}`;
    const input = new PassThrough();
    let found: string[] | undefined;
    const result = await newConnector().runShellCommand(
      sh`: ${new MaskString(secretText)}; echo "env:$INFRA_LOCAL_COMMAND"; echo ready; read x`,
      {
        stdin: input,
        onOutput: ({ line }) => {
          if (line !== 'ready') return;
          void commandLinesContaining(secretText).then((pids) => {
            found = pids;
            input.end('\n');
          });
        },
      },
    );
    expect(result.output.stdoutLines).toEqual(['env:', 'ready']);
    expect(found).toEqual([]);
  });

  it.skipIf(becomeSkip)('keeps a sudo password out of every process argument list', async () => {
    const secretText = `infra-sudo-secret-${randomBytes(6).toString('hex')}`;
    const input = new PassThrough();
    let found: string[] | undefined;
    const result = await newConnector().runShellCommand('id -un; echo ready; read x', {
      sudo: true,
      sudoUser: plainUser,
      sudoPassword: secretText,
      stdin: input,
      onOutput: ({ line }) => {
        if (line !== 'ready') return;
        void commandLinesContaining(secretText).then((pids) => {
          found = pids;
          input.end('\n');
        });
      },
    });
    expect(result.success).toBe(true);
    expect(result.output.stdoutLines).toEqual([plainUser, 'ready']);
    expect(found).toEqual([]);
  });

  it.skipIf(becomeSkip)(
    'asks the run for the sudo password once sudo says it needs one',
    async () => {
      const stdout = await runAsSudoPasswordUser();
      const report = JSON.parse(stdout) as {
        asked: number;
        first: { success: boolean; stdout: string; stderr: string };
        withoutSudo: string;
      };
      expect(report.withoutSudo).toBe(TEST_USERS.sudoPassword.name);
      expect(report.first).toMatchObject({ success: true, stdout: 'root' });
      expect(report.asked).toBe(1);
    },
  );

  it.skipIf(becomeSkip)(
    'takes sudo_password from host data, for commands and files, without asking the run',
    async () => {
      const stdout = await runAsSudoPasswordUser('host-data');
      const report = JSON.parse(stdout) as {
        asked: number;
        first: { success: boolean; stdout: string };
        fileOwner: string;
      };
      expect(report.first).toMatchObject({ success: true, stdout: 'root' });
      expect(report.fileOwner).toBe('root\nas root');
      expect(report.asked).toBe(0);
    },
  );
});

describe('putFile and getFile', () => {
  it('keeps the mode and owner of a file it replaces', async () => {
    const target = join(dir, 'owned.txt');
    await writeFile(target, 'old');
    await chown(target, 1, 1).catch(() => undefined);
    await chmod(target, 0o640);
    const before = await stat(target);
    await newConnector().putFile(Buffer.from('new'), target);
    const after = await stat(target);
    expect(await readFile(target, 'utf8')).toBe('new');
    expect(after.mode & 0o7777).toBe(0o640);
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    expect(after.ino).not.toBe(before.ino); // replaced by rename, not rewritten in place
  });

  it('leaves the old file and no temp file when the source stream fails', async () => {
    const sub = await mkdtemp(join(dir, 'failing-'));
    const target = join(sub, 'keep.txt');
    await writeFile(target, 'old content');
    const failing = new Readable({
      read() {
        this.push(Buffer.from('partial'));
        this.destroy(new Error('source broke'));
      },
    });
    const error = await errorOf(newConnector().putFile(failing, target));
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toContain('source broke');
    expect(await readFile(target, 'utf8')).toBe('old content');
    expect(await readdir(sub)).toEqual(['keep.txt']);
  });

  it('names a missing source path', async () => {
    const error = await errorOf(
      newConnector().putFile(join(dir, 'no-such-source'), join(dir, 'x')),
    );
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toContain('no-such-source');
    expect(error.message).toContain('no such file');
  });

  it('refuses to put a file over a directory', async () => {
    const target = await mkdtemp(join(dir, 'a-dir-'));
    const error = await errorOf(newConnector().putFile(Buffer.from('x'), target));
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toContain(target);
    expect((await stat(target)).isDirectory()).toBe(true);
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/^\.infra-/));
  });

  describe.skipIf(becomeSkip)('as another user', () => {
    let shared: string;

    beforeAll(async () => {
      shared = await mkdtemp(join(dir, 'become-'));
      await chmod(dir, 0o711);
      await chmod(shared, 0o777);
    });

    it.each([
      ['sudo', { sudo: true, sudoUser: plainUser }],
      ['su', { suUser: plainUser }],
      ['doas', { doas: true, doasUser: plainUser }],
    ] as const)('writes files owned by the user with %s', async (method, become) => {
      const target = join(shared, `${method} "file" it's\nünï`);
      await newConnector().putFile(Buffer.from(method), target, { ...become, mode: 0o600 });
      const found = await stat(target);
      expect(found.uid).toBe(Number((await execFileAsync('id', ['-u', plainUser])).stdout));
      expect(found.mode & 0o777).toBe(0o600);
      const local = join(dir, `${method}-copy`);
      await connector.getFile(target, local, become);
      expect(await readFile(local, 'utf8')).toBe(method);
    });

    it('removes its temp file when a become put times out', async () => {
      const sub = await mkdtemp(join(shared, 'timeout-'));
      await chmod(sub, 0o777);
      const neverEnds = new PassThrough();
      neverEnds.write('some bytes');
      const error = await errorOf(
        newConnector().putFile(neverEnds, join(sub, 'never.txt'), {
          sudo: true,
          sudoUser: plainUser,
          timeout: 1,
        }),
      );
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(error.message).toMatch(/timed out after 1s/);
      expect(await readdir(sub)).toEqual([]);
    });

    it('creates missing parents as the user with createParents', async () => {
      const target = join(shared, 'made', 'by', 'plain.txt');
      await newConnector().putFile(Buffer.from('deep'), target, {
        suUser: plainUser,
        createParents: true,
      });
      expect(await readFile(target, 'utf8')).toBe('deep');
      const parent = await stat(join(shared, 'made', 'by'));
      expect(parent.uid).toBe(Number((await execFileAsync('id', ['-u', plainUser])).stdout));
      await connector.runShellCommand(sh`rm -rf ${join(shared, 'made')}`, { suUser: plainUser });
    });

    it('names the file and says why when the user cannot read it', async () => {
      const error = await errorOf(
        newConnector().getFile('/etc/shadow', join(dir, 'shadow-copy'), {
          doas: true,
          doasUser: plainUser,
        }),
      );
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(error.message).toContain('/etc/shadow');
      expect(error.message).toContain('Permission denied');
      await expect(stat(join(dir, 'shadow-copy'))).rejects.toThrow();
      expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/^\.infra-/));
    });
  });
});
