import { randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
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

describe.skipIf(skip !== undefined)('ssh files over SFTP', () => {
  let sshd: SshdFixture;
  let plain: SshConnector;
  let sudo: SshConnector;
  let local: string;
  /** A directory of the plain user's. */
  let dir: string;

  const run = async (
    connector: SshConnector,
    command: Parameters<SshConnector['runShellCommand']>[0],
    options = {},
  ) => {
    const result = await connector.runShellCommand(command, options);
    if (!result.success) throw new Error(`${String(command)}: ${result.output.combined}`);
    return result.output;
  };
  const uploadTemps = async () =>
    (await run(sudo, 'ls -A /tmp', { sudo: true })).stdoutLines.filter((name) =>
      name.startsWith('.infra-'),
    );

  beforeAll(async () => {
    sshd = await startSshd();
    plain = sshConnector(sshd, { user: TEST_USERS.plain.name }).connector;
    sudo = sshConnector(sshd, { user: TEST_USERS.sudo.name }).connector;
    local = await mkdtemp(join(tmpdir(), 'infra-ssh-files-'));
    dir = (await run(plain, 'mktemp -d')).stdout;
  });

  afterAll(async () => {
    if (dir) await plain.runShellCommand(sh`rm -rf ${dir}`);
    await plain?.disconnect();
    await sudo?.disconnect();
    await sshd?.dispose();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('moves 8 MiB of random bytes both ways, from a path and a stream, to a path and a stream', async () => {
    const bytes = randomBytes(8 * 1024 * 1024 + 123);
    const source = join(local, 'big.bin');
    await writeFile(source, bytes);
    await plain.putFile(source, `${dir}/big.bin`);
    const sum = await run(plain, sh`sha256sum ${`${dir}/big.bin`}`);
    const { createHash } = await import('node:crypto');
    expect(sum.stdout.split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));

    // A stream source in odd chunk sizes.
    const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 100_001), bytes.subarray(100_001)];
    await plain.putFile(Readable.from(chunks), `${dir}/streamed.bin`);

    const back = join(local, 'back.bin');
    await plain.getFile(`${dir}/streamed.bin`, back);
    expect((await readFile(back)).equals(bytes)).toBe(true);

    const sink = new PassThrough();
    const received: Buffer[] = [];
    sink.on('data', (chunk: Buffer) => received.push(chunk));
    await plain.getFile(`${dir}/big.bin`, sink);
    expect(Buffer.concat(received).equals(bytes)).toBe(true);
  });

  it('keeps the mode of the file it replaces, and leaves nothing beside it', async () => {
    const target = `${dir}/script.sh`;
    await run(plain, sh`printf old > ${target} && chmod 750 ${target}`);
    await plain.putFile(Buffer.from('new'), target);
    expect((await run(plain, sh`stat -c %a ${target}; cat ${target}`)).stdoutLines).toEqual([
      '750',
      'new',
    ]);
    await plain.putFile(Buffer.from('fresh'), `${dir}/fresh.txt`);
    expect((await run(plain, sh`stat -c %a ${`${dir}/fresh.txt`}`)).stdout).toBe('644');
    const names = (await run(plain, sh`ls -A ${dir}`)).stdoutLines;
    expect(names.filter((name) => name.includes('.infra-'))).toEqual([]);
  });

  it('with sudo: owner and mode as expected, the temporary file removed', async () => {
    const target = `/root/infra-${randomBytes(4).toString('hex')}.conf`;
    try {
      await sudo.putFile(Buffer.from('secret\n'), target, { sudo: true, mode: 0o600 });
      expect((await run(sudo, sh`stat -c '%U %a' ${target}`, { sudo: true })).stdout).toBe(
        'root 600',
      );

      // Replacing a file owned by someone else keeps its owner and mode.
      await run(sudo, sh`chown ${TEST_USERS.plain.name} ${target} && chmod 640 ${target}`, {
        sudo: true,
      });
      await sudo.putFile(Buffer.from('replaced\n'), target, { sudo: true });
      expect(
        (await run(sudo, sh`stat -c '%U %a' ${target}; cat ${target}`, { sudo: true })).stdoutLines,
      ).toEqual([`${TEST_USERS.plain.name} 640`, 'replaced']);

      const sink = new PassThrough();
      const received: Buffer[] = [];
      sink.on('data', (chunk: Buffer) => received.push(chunk));
      await sudo.getFile(target, sink, { sudo: true });
      expect(Buffer.concat(received).toString()).toBe('replaced\n');
      expect(await uploadTemps()).toEqual([]);
    } finally {
      await sudo.runShellCommand(sh`rm -f ${target}`, { sudo: true });
    }
  });

  it('with sudo as another user, the file belongs to that user', async () => {
    const target = `${dir}/owned-by-sudo-user.txt`;
    await run(plain, sh`chmod 777 ${dir}`);
    await sudo.putFile(Buffer.from('x'), target, { sudo: true, sudoUser: TEST_USERS.sudo.name });
    expect((await run(plain, sh`stat -c '%U %a' ${target}`)).stdout).toBe(
      `${TEST_USERS.sudo.name} 644`,
    );
  });

  it('getFile with sudo to another user streams the bytes: no copy in /tmp at any moment', async () => {
    const secret = `${dir}/only-plain-can-read.bin`;
    const bytes = randomBytes(3 * 1024 * 1024 + 7); // every byte value, odd length
    await plain.putFile(bytes, secret, { mode: 0o600 });
    // The login user (infra-sudo) cannot read it itself.
    expect((await sudo.runShellCommand(sh`cat ${secret}`)).success).toBe(false);

    // sshd runs on this machine: watch /tmp (inotify) for anything created during the download.
    const created: string[] = [];
    const watcher = watch('/tmp', (_event, name) => {
      if (name) created.push(name);
    });
    try {
      const sink = new PassThrough();
      const received: Buffer[] = [];
      sink.on('data', (chunk: Buffer) => received.push(chunk));
      await sudo.getFile(secret, sink, { sudo: true, sudoUser: TEST_USERS.plain.name });
      expect(Buffer.concat(received).equals(bytes)).toBe(true);

      const out = join(local, 'through-su.bin');
      await sudo.getFile(secret, out, { sudo: true, suUser: TEST_USERS.plain.name });
      expect((await readFile(out)).equals(bytes)).toBe(true);
    } finally {
      watcher.close();
    }
    expect(created.filter((name) => name.startsWith('.infra-'))).toEqual([]);

    const missing = await errorOf(
      sudo.getFile(`${dir}/no-such-file`, join(local, 'x'), { sudo: true }),
    );
    expect(missing.code).toBe('FILE_TRANSFER_FAILED');
    expect(missing.message).toContain(`${dir}/no-such-file`);
    expect(missing.message).toContain('No such file');
  });

  it('putFile with sudo and su (sudo runs su as root): the file belongs to the su user', async () => {
    const target = `${dir}/owned-by-su-user.txt`;
    await run(plain, sh`chmod 777 ${dir}`);
    await sudo.putFile(Buffer.from('via su'), target, {
      sudo: true,
      suUser: TEST_USERS.plain.name,
      mode: 0o640,
    });
    expect((await run(plain, sh`stat -c '%U %a' ${target}; cat ${target}`)).stdoutLines).toEqual([
      `${TEST_USERS.plain.name} 640`,
      'via su',
    ]);
  });

  it('putFile and getFile with su and su_password (no sudo): binary-safe, owned by the su user', async () => {
    const target = `${dir}/through-su-password.bin`;
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const { connector, log } = sshConnector(sshd, {
      user: TEST_USERS.sudo.name,
      data: { su_password: TEST_USERS.plain.password },
    });
    try {
      const before = await uploadTemps();
      await connector.putFile(bytes, target, { suUser: TEST_USERS.plain.name, mode: 0o600 });
      expect((await run(plain, sh`stat -c '%U %a' ${target}`)).stdout).toBe(
        `${TEST_USERS.plain.name} 600`,
      );
      expect(await uploadTemps()).toEqual(before);
      // The login user cannot read it; through su it can.
      const out = join(local, 'through-su-password.bin');
      await connector.getFile(target, out, { suUser: TEST_USERS.plain.name });
      expect((await readFile(out)).equals(bytes)).toBe(true);
      // No staged file is left beside the target.
      expect(
        (await run(plain, sh`ls -A ${dir}`)).stdoutLines.filter((n) => n.includes('.infra-')),
      ).toEqual([]);
      expect(JSON.stringify(log.messages)).not.toContain(TEST_USERS.plain.password);

      // A wrong password: the transfer fails naming su's answer, nothing is left behind.
      const wrong = sshConnector(sshd, {
        user: TEST_USERS.sudo.name,
        data: { su_password: 'wrong-password' },
      }).connector;
      const error = await errorOf(
        wrong.putFile(Buffer.from('x'), `${dir}/never.txt`, { suUser: TEST_USERS.plain.name }),
      );
      await wrong.disconnect();
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(error.message).toContain('Authentication failure');
      expect(error.message).not.toContain('wrong-password');
      expect((await run(plain, sh`ls -A ${dir}`)).stdoutLines).not.toContain('never.txt');
    } finally {
      await connector.disconnect();
    }
  });

  it("a new file gets the mode of the SFTP server's umask; a replaced one keeps its own", async () => {
    const umask027 = await startSshd({ sftpUmask: '027' });
    const connector = sshConnector(umask027, { user: TEST_USERS.plain.name }).connector;
    try {
      await connector.putFile(Buffer.from('a'), `${dir}/umask-new.txt`);
      await connector.putFile(Buffer.from('b'), `${dir}/umask-given.txt`, { mode: 0o604 });
      await run(
        connector,
        sh`printf old > ${`${dir}/umask-old.sh`} && chmod 755 ${`${dir}/umask-old.sh`}`,
      );
      await connector.putFile(Buffer.from('c'), `${dir}/umask-old.sh`);
      const modes = await run(
        connector,
        sh`cd ${dir} && stat -c '%n %a' umask-new.txt umask-given.txt umask-old.sh`,
      );
      expect(modes.stdoutLines).toEqual([
        'umask-new.txt 640',
        'umask-given.txt 604',
        'umask-old.sh 755',
      ]);
      const names = (await run(connector, sh`ls -A ${dir}`)).stdoutLines;
      expect(names.filter((name) => name.includes('.infra-'))).toEqual([]);
    } finally {
      await connector.disconnect();
      await umask027.dispose();
    }
  });

  it('with a password-required sudo, asks for the password and installs the file', async () => {
    const withPassword = sshConnector(sshd, {
      user: TEST_USERS.sudoPassword.name,
      data: { sudo_password: TEST_USERS.sudoPassword.password },
    }).connector;
    const target = `/root/infra-pw-${randomBytes(4).toString('hex')}`;
    try {
      await withPassword.putFile(Buffer.from('via password'), target, { sudo: true });
      expect((await run(sudo, sh`cat ${target}`, { sudo: true })).stdout).toBe('via password');
      const out = join(local, 'pw.txt');
      await withPassword.getFile(target, out, { sudo: true });
      expect(await readFile(out, 'utf8')).toBe('via password');
    } finally {
      await sudo.runShellCommand(sh`rm -f ${target}`, { sudo: true });
      await withPassword.disconnect();
    }
  });

  it('removes the temporary file when the copy into place fails', async () => {
    const error = await errorOf(
      sudo.putFile(Buffer.from('x'), '/proc/infra-cannot-write-here', { sudo: true }),
    );
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toContain('/proc/infra-cannot-write-here');
    expect(await uploadTemps()).toEqual([]);
  });
});
