import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  type CommandInput,
  type CommandResult,
  type Connector,
  MaskString,
  type OutputLine,
  type RunShellCommandOptions,
  sh,
} from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBecomeConformance } from './become-conformance.js';
import {
  AWKWARD_FILE_NAMES,
  allByteValues,
  BufferSink,
  becomeArguments,
  becomeUserFor,
  type ConformanceCapabilities,
  type ConformanceContext,
  errorOf,
  processGoneCommand,
} from './conformance-context.js';
import { describeFileSafety, describeSudoPasswordFromHostData } from './file-safety-conformance.js';
import { describeStopAndRetries } from './stop-conformance.js';

const execFileAsync = promisify(execFile);

export type { BecomeMethod, ConformanceCapabilities } from './conformance-context.js';
export { AWKWARD_FILE_NAMES, allByteValues } from './conformance-context.js';

export interface ConformanceOptions {
  /** Shown in the test names, e.g. `local` or `ssh (OpenSSH on loopback)`. */
  name: string;
  /** A fresh, connected connector. The suite disconnects it. */
  connect(): Promise<Connector>;
  capabilities?: ConformanceCapabilities;
  /** A connect that must fail, and what its message must say. Its error must be a `ConnectError` (`CONNECT_FAILED`). */
  connectFailure?: { connect(): Promise<unknown>; message: RegExp };
  /**
   * A fresh, connected connector logged in as `TEST_USERS.sudoPassword` (whose sudo
   * asks for a password), for the "no secret in any process" check with a password
   * sudo really reads. The suite disconnects it.
   */
  connectAsSudoPasswordUser?: () => Promise<Connector>;
  /**
   * A fresh, connected connector logged in as `TEST_USERS.sudoPassword` whose host data
   * holds `sudo_password` (and whose run has no password to give): sudo must work
   * from host data alone. Where the peer has such a user. The suite disconnects it.
   */
  connectWithSudoPasswordInHostData?: () => Promise<Connector>;
  /** Skip the whole suite with this reason (what `peerMissing` returned), e.g. when the peer is missing. */
  skip?: string | undefined;
  /**
   * Run a failed test again up to this many times: only for a peer with a known,
   * documented race of its own that no connector can avoid (say which in the caller).
   */
  retry?: number | undefined;
}

/** `od` output (`-An -v -tx1`) back to bytes: checks what is on the peer without `getFile`. */
function parseOctalDump(text: string): Buffer {
  const hex = text.split(/\s+/).filter((word) => word !== '');
  return Buffer.from(hex.map((byte) => Number.parseInt(byte, 16)));
}

/**
 * Register the connector conformance suite (vitest `describe` / `it`) for one
 * connector. Everything goes through the `Connector` interface, in a temp
 * directory made on the peer with `mktemp -d` and removed afterwards.
 */
export function describeConnector(options: ConformanceOptions): void {
  const capabilities = options.capabilities ?? {};
  const becomeMethods = capabilities.become ?? [];

  describe.skipIf(options.skip !== undefined)(
    `${options.name} connector conformance`,
    {
      retry: options.retry ?? 0,
    },
    () => {
      let connector: Connector;
      /** The remote temp dir. */
      let dir: string;
      /** A local temp dir. */
      let localDir: string;

      const run = async (
        command: CommandInput,
        runOptions?: RunShellCommandOptions,
      ): Promise<CommandResult> => connector.runShellCommand(command, runOptions);
      const runOk = async (command: CommandInput, runOptions?: RunShellCommandOptions) => {
        const result = await run(command, runOptions);
        if (!result.success) {
          throw new Error(
            `${String(command)} failed (exit ${result.output.exitCode}, signal ${result.output.signal}): ${result.output.combined}`,
          );
        }
        return result;
      };

      beforeAll(async () => {
        connector = await options.connect();
        const made = await runOk('mktemp -d');
        dir = made.output.stdout.trim();
        expect(dir).toMatch(/^\//);
        localDir = await mkdtemp(join(tmpdir(), 'infra-conformance-'));
      });

      afterAll(async () => {
        if (localDir) await rm(localDir, { recursive: true, force: true });
        if (!connector) return;
        if (dir) await run(sh`rm -rf ${dir}`);
        await connector.disconnect();
      });

      describe('commands', () => {
        it('reports exit codes, and success by successExitCodes', async () => {
          const ok = await run('exit 0');
          expect(ok.success).toBe(true);
          expect(ok.output.exitCode).toBe(0);
          expect(ok.output.signal).toBeNull();

          const failed = await run('exit 3');
          expect(failed.success).toBe(false);
          expect(failed.output.exitCode).toBe(3);

          const allowed = await run('exit 3', { successExitCodes: [0, 3] });
          expect(allowed.success).toBe(true);
          expect(allowed.output.exitCode).toBe(3);

          const notAllowed = await run('exit 0', { successExitCodes: [1] });
          expect(notAllowed.success).toBe(false);
        });

        it('splits stdout and stderr, keeps their combined order, and streams lines to onOutput', async () => {
          const seen: OutputLine[] = [];
          const result = await runOk(
            'echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; printf "no newline" >&2',
            { onOutput: (line) => seen.push(line) },
          );
          expect(result.output.stdoutLines).toEqual(['out1', 'out2']);
          expect(result.output.stderrLines).toEqual(['err1', 'no newline']);
          const expected = [
            { stream: 'stdout', line: 'out1' },
            { stream: 'stderr', line: 'err1' },
            { stream: 'stdout', line: 'out2' },
            { stream: 'stderr', line: 'no newline' },
          ];
          expect(result.output.lines).toEqual(expected);
          expect(seen).toEqual(expected);
        });

        it('returns 10 MB of output intact', async () => {
          const line = `${'0123456789'.repeat(9)}abcdefghi`; // 99 characters + newline
          const count = 105_000; // 10.5 MB
          let streamed = 0;
          const result = await runOk(sh`yes ${line} | head -n ${count}`, {
            onOutput: () => {
              streamed++;
            },
          });
          expect(result.output.stdoutLines.length).toBe(count);
          expect(streamed).toBe(count);
          expect(result.output.stdoutLines.every((l) => l === line)).toBe(true);
        });

        it('feeds stdin from a string, a Buffer and a stream', async () => {
          const fromString = await runOk('cat', { stdin: 'one\ntwo\n' });
          expect(fromString.output.stdoutLines).toEqual(['one', 'two']);
          const fromBuffer = await runOk('wc -c', { stdin: allByteValues() });
          expect(Number(fromBuffer.output.stdout.trim())).toBe(allByteValues().length);
          const fromStream = await runOk('cat', { stdin: Readable.from(['a', 'b\n', 'c\n']) });
          expect(fromStream.output.stdoutLines).toEqual(['ab', 'c']);
        });

        it('passes env values and chdir paths with spaces, quotes and $ through unchanged', async () => {
          const value = `a b 'single' "double" $HOME \${X} \`tick\` \\back ünï`;
          const env = await runOk('printf "%s" "$INFRA_VALUE"', { env: { INFRA_VALUE: value } });
          expect(env.output.stdout).toBe(value);

          const odd = `${dir}/cd 'it' "is" $HOME ünï`;
          await runOk(sh`rm -rf ${odd} && mkdir ${odd}`);
          const cd = await runOk('pwd', { chdir: odd });
          expect(cd.output.stdout).toBe(odd);

          const both = await runOk('printf "%s|%s" "$(pwd)" "$INFRA_VALUE"', {
            chdir: odd,
            env: { INFRA_VALUE: value },
          });
          expect(both.output.stdout).toBe(`${odd}|${value}`);
        });

        it('kills a command that runs past its timeout, with every process it started, and names it', async () => {
          const pidFile = `${dir}/timeout.pid`;
          const error = await errorOf(
            run(sh`sleep 60 & echo $! > ${pidFile}; wait`, { timeout: 1 }),
          );
          expect(error.code).toBe('COMMAND_TIMEOUT');
          expect(error.message).toContain('sleep 60');
          const gone = await run(processGoneCommand(pidFile));
          expect(gone.output.stderr).toBe('');
          expect(gone.success).toBe(true);
        });

        it('never shows a MaskString: not in String(command), not in errors', async () => {
          const secretText = `infra-secret-${Math.random().toString(36).slice(2)}`;
          const secret = new MaskString(secretText);
          const command = sh`sleep 60; echo ${secret}`;
          expect(String(command)).not.toContain(secretText);
          expect(String(command)).toContain('***');
          expect(JSON.stringify({ command })).not.toContain(secretText);

          const error = await errorOf(run(command, { timeout: 1 }));
          expect(error.code).toBe('COMMAND_TIMEOUT');
          expect(error.message).not.toContain(secretText);
          expect(error.message).toContain('***');
          expect(String(error.stack)).not.toContain(secretText);

          // The secret still reaches the command itself.
          const echoed = await runOk(sh`printf %s ${secret}`);
          expect(echoed.output.stdout).toBe(secretText);
        });

        it.skipIf(!capabilities.pty)('gives a terminal with getPty', async () => {
          const withPty = await run('test -t 1', { getPty: true });
          expect(withPty.success).toBe(true);
          const withoutPty = await run('test -t 1');
          expect(withoutPty.success).toBe(false);
        });
      });

      describe('files', () => {
        it('puts and gets all 256 byte values from a Buffer, a path and a stream', async () => {
          const bytes = allByteValues();
          const fromBuffer = `${dir}/from-buffer.bin`;
          await connector.putFile(bytes, fromBuffer);
          const dumped = await runOk(sh`od -An -v -tx1 ${fromBuffer}`);
          expect(parseOctalDump(dumped.output.stdout)).toEqual(bytes);

          const localSource = join(localDir, 'source.bin');
          await writeFile(localSource, bytes);
          const fromPath = `${dir}/from-path.bin`;
          await connector.putFile(localSource, fromPath);

          const fromStream = `${dir}/from-stream.bin`;
          const pieces = [bytes.subarray(0, 1), bytes.subarray(1, 300), bytes.subarray(300)];
          await connector.putFile(Readable.from(pieces), fromStream);

          for (const remote of [fromBuffer, fromPath, fromStream]) {
            const sink = new BufferSink();
            await connector.getFile(remote, sink);
            expect(sink.bytes()).toEqual(bytes);
            const localCopy = join(localDir, 'copy.bin');
            await connector.getFile(remote, localCopy);
            expect(await readFile(localCopy)).toEqual(bytes);
          }
        });

        it('handles file names with spaces, quotes, newlines and unicode', async () => {
          for (const name of AWKWARD_FILE_NAMES) {
            const remote = `${dir}/${name}`;
            await connector.putFile(Buffer.from(name), remote);
            const shown = await runOk(sh`cat ${remote}`);
            expect(shown.output.stdout).toBe(name);
            const local = join(localDir, name);
            await connector.getFile(remote, local);
            expect(await readFile(local, 'utf8')).toBe(name);
          }
        });

        it('replaces a file atomically, leaves no temp files, and sets the mode', async () => {
          const sub = `${dir}/replace`;
          await runOk(sh`rm -rf ${sub} && mkdir ${sub}`);
          const target = `${sub}/target.txt`;
          await connector.putFile(Buffer.from('old\n'), target, { mode: 0o640 });
          await connector.putFile(Buffer.from('new\n'), target, { mode: 0o600 });
          const listing = await runOk(sh`ls -A ${sub}`);
          expect(listing.output.stdoutLines).toEqual(['target.txt']);
          const content = await runOk(sh`cat ${target}`);
          expect(content.output.stdout).toBe('new');
          const mode = await runOk(sh`ls -l ${target}`);
          expect(mode.output.stdout).toMatch(/^-rw------- /);

          await connector.putFile(Buffer.from('x'), `${sub}/exec.sh`, { mode: 0o755 });
          const exec = await runOk(sh`ls -l ${`${sub}/exec.sh`}`);
          expect(exec.output.stdout).toMatch(/^-rwxr-xr-x /);
        });

        it('fails naming the path when the parent directory is missing, or creates it with createParents', async () => {
          const missing = `${dir}/no-such-dir/file.txt`;
          const error = await errorOf(connector.putFile(Buffer.from('x'), missing));
          expect(error.code).toBe('FILE_TRANSFER_FAILED');
          expect(error.message).toContain('no-such-dir');

          const nested = `${dir}/made/by/put/file.txt`;
          await connector.putFile(Buffer.from('made'), nested, { createParents: true });
          const shown = await runOk(sh`cat ${nested}`);
          expect(shown.output.stdout).toBe('made');
          const listing = await runOk(sh`ls -A ${`${dir}/made/by/put`}`);
          expect(listing.output.stdoutLines).toEqual(['file.txt']);
        });

        it('refuses to replace what is not a regular file (a named pipe, a directory), naming it', async () => {
          const sub = `${dir}/not-regular`;
          await runOk(sh`rm -rf ${sub} && mkdir ${sub} ${`${sub}/dir`} && mkfifo ${`${sub}/pipe`}`);
          for (const name of ['pipe', 'dir']) {
            const target = `${sub}/${name}`;
            const error = await errorOf(connector.putFile(Buffer.from('x'), target));
            expect(error.code).toBe('FILE_TRANSFER_FAILED');
            expect(error.message).toContain(target);
            expect(error.message).toContain('not a regular file');
          }
          // Both still what they were, and nothing left beside them.
          await runOk(sh`test -p ${`${sub}/pipe`} && test -d ${`${sub}/dir`}`);
          const listing = await runOk(sh`ls -A ${sub} ${`${sub}/dir`}`);
          expect(listing.output.stdoutLines.filter((line) => line.includes('infra'))).toEqual([]);
        });

        it('refuses to download over a local path that is not a regular file (a named pipe)', async () => {
          const remote = `${dir}/for-the-pipe.txt`;
          await connector.putFile(Buffer.from('x'), remote);
          const pipe = join(localDir, 'local-pipe');
          await execFileAsync('mkfifo', [pipe]);
          const error = await errorOf(connector.getFile(remote, pipe));
          expect(error.code).toBe('FILE_TRANSFER_FAILED');
          expect(error.message).toContain(pipe);
          expect(error.message).toContain('not a regular file');
          expect((await stat(pipe)).isFIFO()).toBe(true);
          expect((await readdir(localDir)).filter((name) => name.includes('local-pipe'))).toEqual([
            'local-pipe',
          ]);
        });

        it('fails naming the path when getFile has nothing to read, and writes nothing', async () => {
          const missing = `${dir}/not-there.bin`;
          const local = join(localDir, 'never-written.bin');
          const error = await errorOf(connector.getFile(missing, local));
          expect(error.code).toBe('FILE_TRANSFER_FAILED');
          expect(error.message).toContain('not-there.bin');
          await expect(readFile(local)).rejects.toThrow();
        });
      });

      const context: ConformanceContext = {
        connector: () => connector,
        dir: () => dir,
        localDir: () => localDir,
        run,
        runOk,
      };
      describeStopAndRetries(context);
      const firstBecome = becomeMethods[0];
      describeFileSafety(
        context,
        firstBecome === undefined
          ? undefined
          : {
              args: becomeArguments(firstBecome, becomeUserFor(capabilities, firstBecome)),
              label: `${firstBecome} to ${becomeUserFor(capabilities, firstBecome)}`,
            },
      );
      describeSudoPasswordFromHostData(options.connectWithSudoPasswordInHostData);

      describe('connection', () => {
        it.skipIf(!options.connectFailure)(
          'fails to connect with an actionable ConnectError',
          async () => {
            const failure = options.connectFailure!;
            const error = await errorOf(failure.connect());
            expect(error.code).toBe('CONNECT_FAILED');
            expect(error.message).toMatch(failure.message);
          },
        );

        it('disconnects idempotently', async () => {
          const another = await options.connect();
          const result = await another.runShellCommand('echo still here');
          expect(result.output.stdout).toBe('still here');
          await another.disconnect();
          await another.disconnect();
        });
      });

      describeBecomeConformance(context, capabilities, options);
    },
  );
}
