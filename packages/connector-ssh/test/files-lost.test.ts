import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { startDroppingProxy } from './dropping-proxy.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());
const MiB = 1024 * 1024;

/**
 * 1 MiB chunks, `total` of them; before the chunk numbered `dropAt` it waits for
 * `drop()` (the sshd session killed), so the next WRITE goes to a dead connection.
 */
function sourceDroppingAt(total: number, dropAt: number, drop: () => Promise<void>): Readable {
  let n = 0;
  return new Readable({
    read() {
      const i = n++;
      if (i >= total) this.push(null);
      else if (i === dropAt) void drop().then(() => this.push(randomBytes(MiB)));
      else this.push(randomBytes(MiB));
    },
  });
}

describe.skipIf(skip !== undefined)('ssh transfers when the connection is lost', () => {
  let sshd: SshdFixture;
  let dir: string;
  let local: string;
  let check: SshConnector;

  const lines = async (command: ReturnType<typeof sh>) => {
    const result = await check.runShellCommand(command, { sudo: true });
    return result.output.stdoutLines;
  };
  const infraTemps = async (where: string) =>
    (await lines(sh`ls -A ${where}`)).filter((name) => name.includes('.infra-'));

  beforeAll(async () => {
    sshd = await startSshd();
    // The checks go through a second sshd, which the drops below leave alone.
    check = sshConnector(await startSshd(), { user: TEST_USERS.sudo.name }).connector;
    dir = (await check.runShellCommand(sh`mktemp -d`)).output.stdout;
    await check.runShellCommand(sh`chmod 777 ${dir}`);
    local = await mkdtemp(join(tmpdir(), 'infra-ssh-lost-'));
  });

  afterAll(async () => {
    if (dir) await check.runShellCommand(sh`rm -rf ${dir}`, { sudo: true });
    await check?.disconnect();
    await sshd?.dispose();
    if (local) await rm(local, { recursive: true, force: true });
  });

  it('putFile fails at once with a FileTransferError naming host and path; the next put removes the old temp', async () => {
    const { connector } = sshConnector(sshd, { user: TEST_USERS.plain.name, name: 'web-lost' });
    const target = `${dir}/lost-upload.bin`;
    try {
      const error = await errorOf(
        connector.putFile(
          sourceDroppingAt(64, 8, () => sshd.dropConnections()),
          target,
        ),
      );
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(error.message).toContain(target);
      expect(error.message).toContain('web-lost');
      expect(error.message).toMatch(/the connection to .* (dropped|failed)|SFTP session .* closed/);
      // The connection was gone: the temp file could not be removed.
      const [left] = await infraTemps(dir);
      expect(left).toMatch(/^\.lost-upload\.bin\.infra-[0-9a-f]{12}\.tmp$/);

      // A later run (reconnecting) removes it once it is old enough to be nobody's.
      await connector.putFile(Buffer.from('fresh'), target);
      expect(await infraTemps(dir)).toEqual([left]);
      await check.runShellCommand(sh`touch -d '-2 minutes' ${`${dir}/${left}`}`, { sudo: true });
      // The next run: a new connection looks once in each directory it puts to.
      await connector.disconnect();
      await connector.putFile(Buffer.from('again'), target);
      expect(await infraTemps(dir)).toEqual([]);
      expect(await lines(sh`cat ${target}`)).toEqual(['again']);
    } finally {
      await connector.disconnect();
    }
  });

  it('putFile with sudo of a stream fails at once when the link dies; the cut-short content is never installed', async () => {
    // Through a proxy whose connections are cut: sshd and the install script on the
    // host live on and see the script's stdin end early.
    const proxy = await startDroppingProxy(sshd.port, 0);
    const knownHosts = await sshd.writeKnownHosts(`known_hosts.${proxy.port}`, [
      `[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}`,
    ]);
    const { connector } = sshConnector(sshd, {
      user: TEST_USERS.sudo.name,
      data: { ssh_port: proxy.port, ssh_known_hosts_file: knownHosts },
    });
    const target = `${dir}/lost-sudo.bin`;
    await check.runShellCommand(sh`printf old > ${target}`, { sudo: true });
    try {
      const error = await errorOf(
        connector.putFile(
          sourceDroppingAt(64, 8, async () => proxy.cut()),
          target,
          { sudo: true },
        ),
      );
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(error.message).toContain(target);
      // The install script on the host sees its stdin end without the end mark: it
      // refuses, removes its temp file and leaves the target as it was.
      let temps = await infraTemps(dir);
      for (let i = 0; i < 50 && temps.length > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        temps = await infraTemps(dir);
      }
      expect(temps).toEqual([]);
      expect(await lines(sh`cat ${target}`)).toEqual(['old']);
      await connector.putFile(Buffer.from('sudo again'), target, { sudo: true });
      expect(await lines(sh`cat ${target}`)).toEqual(['sudo again']);
    } finally {
      await connector.disconnect();
      await proxy.close();
    }
  });

  it('getFile into a stream fails at once, naming host and path', async () => {
    const { connector } = sshConnector(sshd, { user: TEST_USERS.plain.name, name: 'web-lost' });
    const source = `${dir}/big-stream.bin`;
    try {
      await connector.runShellCommand(sh`head -c ${64 * MiB} /dev/urandom > ${source}`);
      let seen = 0;
      let dropping: Promise<void> | undefined;
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          seen += chunk.length;
          if (seen < 4 * MiB) callback();
          // Hold this chunk until the connection is gone: the next READs go to a dead one.
          else {
            dropping ??= sshd.dropConnections();
            void dropping.then(() => callback());
          }
        },
      });
      const error = await errorOf(connector.getFile(source, sink));
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(error.message).toContain(source);
      expect(error.message).toContain('web-lost');
    } finally {
      await connector.disconnect();
    }
  });

  it('getFile to a local path fails at once, keeps the file it would replace and leaves no partial file', async () => {
    // Through a proxy whose connections are cut at once (a dropped sshd child takes a
    // while to go, time enough for a fast loopback download to finish).
    const proxy = await startDroppingProxy(sshd.port, 0);
    const knownHosts = await sshd.writeKnownHosts(`known_hosts.${proxy.port}`, [
      `[127.0.0.1]:${proxy.port} ${sshd.hostPublicKey}`,
    ]);
    const { connector } = sshConnector(sshd, {
      user: TEST_USERS.plain.name,
      data: { ssh_port: proxy.port, ssh_known_hosts_file: knownHosts },
    });
    const source = `${dir}/big-path.bin`;
    const dest = join(local, 'kept.bin');
    await writeFile(dest, 'the old bytes');
    try {
      await connector.runShellCommand(sh`head -c ${256 * MiB} /dev/zero > ${source}`);
      const transfer = connector.getFile(source, dest);
      // Cut once the partial file beside the destination has bytes in it.
      for (;;) {
        const partial = (await readdir(local)).find((name) => name.includes('.infra-'));
        if (partial && ((await stat(join(local, partial)).catch(() => undefined))?.size ?? 0) > 0) {
          break;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      proxy.cut();
      const error = await errorOf(transfer);
      expect(error.code).toBe('FILE_TRANSFER_FAILED');
      expect(error.message).toContain(source);
      expect(await readdir(local)).toEqual(['kept.bin']);
      expect(await readFile(dest, 'utf8')).toBe('the old bytes');
    } finally {
      await connector.disconnect();
      await proxy.close();
    }
  });
});
