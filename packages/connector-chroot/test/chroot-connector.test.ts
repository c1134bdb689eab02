// @chroot beyond the conformance suite, on this machine and through @ssh (the loopback
// sshd, logged in as root), in a busybox root built by the testkit.
import { execFileSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { type Connector, MaskString, sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChrootConnector } from '../src/index.js';
import { chrootConnector, chrootSkip, sshVia, useChrootPeers, viaSshSkip } from './chroot-hosts.js';

const peers = useChrootPeers();

/** Every process's argv on this machine (the via host is this machine too). */
function allArgv(): string {
  return execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
}

for (const mode of ['on this machine', 'via ssh'] as const) {
  describe.skipIf((mode === 'via ssh' ? viaSshSkip : chrootSkip) !== undefined)(
    `@chroot ${mode}`,
    () => {
      let via: { name: string; connector: Connector } | undefined;
      let connector: ChrootConnector;

      beforeAll(async () => {
        if (mode === 'via ssh') {
          via = sshVia(peers.sshd());
          await via.connector.connect();
        }
        connector = chrootConnector(peers.root().dir, via);
        await connector.connect();
      });
      afterAll(async () => {
        await connector?.disconnect();
        await via?.connector.disconnect();
      });

      it('runs commands inside the root, not on the machine', async () => {
        const result = await connector.runShellCommand(
          'cat /etc/os-release; test -e /work || echo no-work',
        );
        expect(result.output.stdoutLines).toEqual(['NAME="infra busybox chroot"', 'no-work']);
      });

      it('lets nothing of the caller environment into the root', async () => {
        process.env.INFRA_CHROOT_LEAK = 'leaked';
        try {
          const result = await connector.runShellCommand(
            'if [ -n "$INFRA_CHROOT_LEAK$SSH_CONNECTION" ]; then echo leaked; else echo unset; fi; echo "$PATH"',
          );
          expect(result.output.stdoutLines).toEqual([
            'unset',
            '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          ]);
        } finally {
          delete process.env.INFRA_CHROOT_LEAK;
        }
      });

      it('keeps a secret out of every argument list while the command runs, and still runs it', async () => {
        const secret = `chroot-secret-${Math.random().toString(36).slice(2)}`;
        const stdin = new PassThrough();
        let onReady: () => void = () => {};
        const ready = new Promise<void>((resolve) => {
          onReady = resolve;
        });
        const running = connector.runShellCommand(
          sh`echo ready; read go; printf '%s %s' "$go" ${new MaskString(secret)}`,
          { stdin, onOutput: (line) => line.line === 'ready' && onReady() },
        );
        await ready;
        expect(allArgv()).not.toContain(secret);
        stdin.end('go\n');
        expect((await running).output.stdoutLines).toEqual(['ready', `go ${secret}`]);
      });

      it('moves files into the root, binary-safe, and back', async () => {
        const bytes = Buffer.from([0, 1, 2, 255, 10, 13, 0]);
        await connector.putFile(bytes, '/tmp/moved.bin', { mode: 0o600 });
        const listed = await connector.runShellCommand(
          'ls -ln /tmp/moved.bin; wc -c < /tmp/moved.bin',
        );
        expect(listed.output.stdoutLines[0]).toMatch(/^-rw------- +1 0 +0 /);
        expect(listed.output.stdoutLines[1]?.trim()).toBe(String(bytes.length));
        const back = new PassThrough();
        const chunks: Buffer[] = [];
        back.on('data', (chunk: Buffer) => chunks.push(chunk));
        await connector.getFile('/tmp/moved.bin', back);
        expect(Buffer.concat(chunks)).toEqual(bytes);
        expect(execFileSync('cat', [`${peers.root().dir}/tmp/moved.bin`])).toEqual(bytes);
      });

      it('checks the root where chroot runs, naming that host', async () => {
        const missing = chrootConnector(`${peers.root().dir}/no-such-root`, via);
        await expect(missing.connect()).rejects.toMatchObject({
          code: 'CONNECT_FAILED',
          message: expect.stringContaining(
            `${peers.root().dir}/no-such-root is not a directory on ${via ? via.name : 'this machine'}`,
          ),
        });
      });
    },
  );
}

describe('@chroot via a host that cannot run raw commands', () => {
  it('refuses to connect, naming both hosts', async () => {
    // A connector of the contract without the optional runRawCommand (a pure check: nothing runs).
    const noRaw: Connector = {
      connect: async () => {},
      disconnect: async () => {},
      runShellCommand: async () => {
        throw new Error('not called');
      },
      putFile: async () => {},
      getFile: async () => {},
    };
    const connector = chrootConnector('/srv/root', { name: '@rest:box', connector: noRaw });
    await expect(connector.connect()).rejects.toMatchObject({
      code: 'CONNECT_FAILED',
      message: expect.stringMatching(
        /Could not connect to @chroot:\/srv\/root: it runs via @rest:box, whose connector cannot run raw commands/,
      ),
    });
  });
});
