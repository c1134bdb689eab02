import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshConnector } from '../src/index.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());

/** A source that gives one chunk, then calls `onStall` and never gives more. */
function stallingSource(onStall: () => void = () => {}): Readable {
  let reads = 0;
  return new Readable({
    read() {
      if (reads++ === 0) this.push(randomBytes(256 * 1024));
      else onStall();
    },
  });
}

/** A destination that takes the first chunk, calls `onStall`, and never finishes writing it. */
function stallingSink(onStall: () => void = () => {}): Writable {
  return new Writable({
    highWaterMark: 1024,
    write(_chunk, _encoding, _callback) {
      onStall();
    },
  });
}

describe.skipIf(skip !== undefined)('ssh file transfers stopped by timeout or signal', () => {
  let sshd: SshdFixture;
  let plain: SshConnector;
  let sudo: SshConnector;
  let dir: string;

  const stdout = async (connector: SshConnector, command: ReturnType<typeof sh>, options = {}) => {
    const result = await connector.runShellCommand(command, options);
    if (!result.success) throw new Error(`${command}: ${result.output.combined}`);
    return result.output;
  };
  const infraTemps = async (where: string) =>
    (await stdout(sudo, sh`ls -A ${where}`, { sudo: true })).stdoutLines.filter((name) =>
      name.includes('.infra-'),
    );

  beforeAll(async () => {
    sshd = await startSshd();
    plain = sshConnector(sshd, { user: TEST_USERS.plain.name }).connector;
    sudo = sshConnector(sshd, { user: TEST_USERS.sudo.name }).connector;
    dir = (await stdout(plain, sh`mktemp -d`)).stdout;
  });

  afterAll(async () => {
    if (dir) await plain.runShellCommand(sh`rm -rf ${dir}`);
    await plain?.disconnect();
    await sudo?.disconnect();
    await sshd?.dispose();
  });

  it('putFile past its timeout stops, names the path and leaves no temporary file', async () => {
    const target = `${dir}/never-finished.bin`;
    const error = await errorOf(plain.putFile(stallingSource(), target, { timeout: 0.5 }));
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toContain(target);
    expect(error.message).toContain('timed out after 0.5s');
    expect(await infraTemps(dir)).toEqual([]);
    expect((await plain.runShellCommand(sh`test -e ${target}`)).success).toBe(false);
    // The connection is still good for the next transfer.
    await plain.putFile(Buffer.from('after'), target);
    expect((await stdout(plain, sh`cat ${target}`)).stdout).toBe('after');
  });

  it('putFile with sudo, aborted mid-upload, rejects with the reason and removes the upload in /tmp', async () => {
    const target = `/root/infra-aborted-${randomBytes(4).toString('hex')}`;
    const controller = new AbortController();
    const reason = new Error('deploy cancelled');
    const error = await errorOf(
      sudo.putFile(
        stallingSource(() => controller.abort(reason)),
        target,
        {
          sudo: true,
          signal: controller.signal,
        },
      ),
    );
    expect(error).toBe(reason);
    expect(await infraTemps('/tmp')).toEqual([]);
    expect(await infraTemps('/root')).toEqual([]);
  });

  it('getFile over SFTP to a destination that stops taking data times out, naming the path', async () => {
    const source = `${dir}/big.bin`;
    await stdout(plain, sh`head -c 4194304 /dev/urandom > ${source}`);
    const error = await errorOf(plain.getFile(source, stallingSink(), { timeout: 0.5 }));
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toContain(source);
    expect(error.message).toContain('timed out after 0.5s');
  });

  it('getFile with sudo, aborted, kills the remote cat and rejects with the reason', async () => {
    const source = `${dir}/big-for-sudo.bin`;
    await stdout(plain, sh`head -c 8388608 /dev/urandom > ${source}`);
    const controller = new AbortController();
    const error = await errorOf(
      sudo.getFile(
        source,
        stallingSink(() => controller.abort()),
        {
          sudo: true,
          signal: controller.signal,
        },
      ),
    );
    expect(error).toBe(controller.signal.reason);
    // The stopped `cat` goes away (SIGKILL through sshd): wait for it, bounded.
    let left = true;
    for (let i = 0; i < 50 && left; i++) {
      left = (await sudo.runShellCommand(sh`pgrep -f -- ${`[c]at -- ${source}`}`)).success;
      if (left) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(left).toBe(false);
  });
});
