// A deploy whose SSH connection is lost in the middle of a file transfer, through the
// real `infra` binary: the host is reported failed and the run ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, INFRA_BIN, type ProcessResult, parseEvents } from './infra-process.js';

const sshSkip = peerMissing('sshd', sshdMissingReason());

/** Resolve once `dir` holds a temporary upload with bytes in it. */
async function uploadUnderWay(dir: string): Promise<void> {
  for (;;) {
    for (const name of await readdir(dir)) {
      if (name.includes('.infra-') && (await stat(join(dir, name)).catch(() => undefined))?.size)
        return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.skipIf(sshSkip !== undefined)(
  'infra deploy when an SSH connection is lost mid-transfer',
  () => {
    let lostSshd: SshdFixture;
    let goodSshd: SshdFixture;
    let dir: string;
    let child: ChildProcess | undefined;

    beforeAll(async () => {
      [lostSshd, goodSshd] = await Promise.all([startSshd(), startSshd()]);
      dir = await mkdtemp(join(tmpdir(), 'infra-cli-lost-'));
      await chmod(dir, 0o755);
      for (const name of ['lost', 'good']) {
        await mkdir(join(dir, name));
        await chmod(join(dir, name), 0o777);
      }
      await writeFile(join(dir, 'big.bin'), Buffer.alloc(128 * 1024 * 1024, 7));
      const host = (name: string, sshd: SshdFixture) => ({
        name,
        connection: '@ssh:127.0.0.1',
        data: {
          ssh_port: sshd.port,
          ssh_user: TEST_USERS.plain.name,
          ssh_key: sshd.clientKey.privateKeyPath,
          ssh_known_hosts_file: sshd.knownHostsFile,
          ssh_allow_agent: false,
          dest: join(dir, name, 'big.bin'),
        },
      });
      await writeFile(
        join(dir, 'inventory.json'),
        JSON.stringify({ hosts: [host('lost', lostSshd), host('good', goodSshd)] }),
      );
      await writeFile(
        join(dir, 'deploy.ts'),
        `import { deploy } from '@infra/deploy';\nexport default deploy<{ dest: string }>(async ({ host, ops }) => {\n  await ops.files.put({ src: ${JSON.stringify(join(dir, 'big.bin'))}, dest: host.data.dest });\n});\n`,
      );
    });

    afterAll(async () => {
      // A run that never ended (the fault this file is about) is not left behind.
      if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all([lostSshd?.dispose(), goodSshd?.dispose()]);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('reports the host as failed, naming host and path, and finishes the run', async () => {
      const run = spawn(
        process.execPath,
        [INFRA_BIN, 'inventory.json', 'deploy.ts', '-y', '--json'],
        { cwd: dir, env: cleanEnv(), stdio: 'pipe' },
      );
      child = run;
      let stdout = '';
      let stderr = '';
      run.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
      });
      run.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
      });
      const ended = new Promise<ProcessResult>((resolve) =>
        run.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
      );
      await uploadUnderWay(join(dir, 'lost'));
      await lostSshd.dropConnections();
      const result = await ended;
      expect(result.code).toBe(1);
      const events = parseEvents(result.stdout);
      expect(events.find((event) => event.type === 'summary')).toMatchObject({
        exitCode: 1,
        failedHosts: ['lost'],
      });
      expect(result.stdout).toMatch(
        new RegExp(
          `putFile \\\\"[^"]*\\\\" -> \\\\"${join(dir, 'lost', 'big.bin')}\\\\" on lost failed: the connection to`,
        ),
      );
      expect(await readdir(join(dir, 'good'))).toEqual(['big.bin']);
    });
  },
);
