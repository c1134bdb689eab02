import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Connector, MaskString, sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceOptions } from './conformance.js';
import {
  allByteValues,
  type BecomeMethod,
  BufferSink,
  becomeArguments,
  becomeUserFor,
  type ConformanceCapabilities,
  type ConformanceContext,
  errorOf,
  processGoneCommand,
} from './conformance-context.js';
import { describeSudoSecretScan } from './secret-scan-conformance.js';

/** The suite's become part: commands and files as each become user the connector supports. */
export function describeBecomeConformance(
  context: ConformanceContext,
  capabilities: ConformanceCapabilities,
  options: Pick<ConformanceOptions, 'connectAsSudoPasswordUser'>,
): void {
  const becomeMethods = capabilities.become ?? [];
  let connector: Connector;
  let dir: string;
  let localDir: string;
  const { run, runOk } = context;
  describe.skipIf(becomeMethods.length === 0)('become', () => {
    let becomeDir: string;

    beforeAll(() => {
      connector = context.connector();
      dir = context.dir();
      localDir = context.localDir();
    });

    beforeAll(async () => {
      // The become user must reach it: traverse the temp dir, write in this one.
      await runOk(sh`chmod 711 ${dir} && mkdir ${`${dir}/become`} && chmod 777 ${`${dir}/become`}`);
      becomeDir = `${dir}/become`;
    });

    describe.each(becomeMethods.map((method) => [method, becomeUserFor(capabilities, method)]))(
      'with %s to %s',
      (method, user) => {
        const becomeArgs = becomeArguments(method as BecomeMethod, user);

        afterAll(async () => {
          // Files the become user made, removed as that user.
          if (becomeDir && connector) {
            await run(sh`find ${becomeDir} -user ${user} -exec rm -f {} +`, becomeArgs);
          }
        });

        it('runs commands as that user, with env and chdir', async () => {
          const whoami = await runOk('id -un', becomeArgs);
          expect(whoami.output.stdout).toBe(user);
          const value = `it's "$HOME" ünï`;
          const both = await runOk('printf "%s|%s" "$(pwd)" "$INFRA_VALUE"', {
            ...becomeArgs,
            chdir: becomeDir,
            env: { INFRA_VALUE: value },
          });
          expect(both.output.stdout).toBe(`${becomeDir}|${value}`);
        });

        it('an abort kills the command started as that user and rejects with signal.reason', async () => {
          const pidFile = `${becomeDir}/${method}-abort.pid`;
          const controller = new AbortController();
          const reason = new Error(`stop the ${method} command`);
          const error = await errorOf(
            run(sh`sleep 60 & echo $! > ${pidFile}; echo started; wait`, {
              ...becomeArgs,
              signal: controller.signal,
              onOutput: (line) => {
                if (line.line === 'started') controller.abort(reason);
              },
            }),
          );
          expect(error).toBe(reason);
          const gone = await run(processGoneCommand(pidFile));
          expect(gone.output.stderr).toBe('');
          expect(gone.success).toBe(true);
          await run(sh`rm -f ${pidFile}`, becomeArgs);
        });

        it('puts and gets files as that user, binary-safe, with odd names and a mode', async () => {
          const bytes = allByteValues();
          const remote = `${becomeDir}/${method} it's "odd"\nünï.bin`;
          await connector.putFile(bytes, remote, { ...becomeArgs, mode: 0o600 });
          const listing = await runOk(sh`ls -ln ${remote}`);
          const uid = await runOk('id -u', becomeArgs);
          const fields = listing.output.stdout.split(/\s+/);
          expect(fields[0]).toBe('-rw-------');
          expect(fields[2]).toBe(uid.output.stdout);

          // Only the become user can read it now (unless we are root).
          const sink = new BufferSink();
          await connector.getFile(remote, sink, becomeArgs);
          expect(sink.bytes()).toEqual(bytes);
          const local = join(localDir, `${method}-become.bin`);
          await connector.getFile(remote, local, becomeArgs);
          expect(await readFile(local)).toEqual(bytes);

          // Replace it from a stream; no temp files are left beside it.
          await connector.putFile(
            Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]),
            remote,
            {
              ...becomeArgs,
              mode: 0o644,
            },
          );
          const after = await runOk(sh`ls -ln ${remote}`);
          expect(after.output.stdout.split(/\s+/)[0]).toBe('-rw-r--r--');
          const names = await runOk(sh`ls -A ${becomeDir}`, becomeArgs);
          expect(names.output.stdoutLines.filter((n) => n.startsWith(`${method} `))).toHaveLength(
            1,
          );
          expect(names.output.stdoutLines.some((n) => /tmp/i.test(n))).toBe(false);
        });

        it('refuses as that user to replace a named pipe, naming it', async () => {
          const pipe = `${becomeDir}/${method}-pipe`;
          // rm first: a retried attempt (podman's suite retries) finds the pipe of the one before.
          await runOk(sh`rm -f ${pipe} && mkfifo -m 666 ${pipe}`);
          const error = await errorOf(connector.putFile(Buffer.from('x'), pipe, becomeArgs));
          expect(error.code).toBe('FILE_TRANSFER_FAILED');
          expect(error.message).toContain(pipe);
          expect(error.message).toContain('not a regular file');
          await runOk(sh`test -p ${pipe} && rm -f ${pipe}`);
          const names = await runOk(sh`ls -A ${becomeDir}`, becomeArgs);
          expect(names.output.stdoutLines.filter((n) => n.includes(`${method}-pipe`))).toEqual([]);
        });

        it.skipIf(user === 'root')(
          'fails as that user naming the path when the user may not write there',
          async () => {
            const denied = `${dir}/not-for-${method}.txt`; // the 0711 temp dir: not writable by the become user
            const error = await errorOf(connector.putFile(Buffer.from('x'), denied, becomeArgs));
            expect(error.code).toBe('FILE_TRANSFER_FAILED');
            expect(error.message).toContain(`not-for-${method}.txt`);
            const listing = await runOk(sh`ls -A ${dir}`);
            expect(listing.output.stdoutLines.some((n) => n.startsWith('.'))).toBe(false);
          },
        );

        if (method === 'sudo') {
          describeSudoSecretScan({
            connector: () => connector,
            sudoArgs: becomeArgs,
            connectAsSudoPasswordUser: options.connectAsSudoPasswordUser,
          });

          it('never shows a sudo password given as an argument', async () => {
            const secretText = `infra-sudo-secret-${Math.random().toString(36).slice(2)}`;
            const error = await errorOf(
              run('sleep 60', {
                ...becomeArgs,
                sudoPassword: new MaskString(secretText),
                timeout: 1,
              }),
            );
            expect(error.code).toBe('COMMAND_TIMEOUT');
            expect(error.message).not.toContain(secretText);
          });
        }
      },
    );
  });
}
