import { join } from 'node:path';
import { createTestHost, peerMissing } from '@infra/connector-testkit';
import { buildConnectorData, MaskString, sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROOT_DATA_META, ChrootConnector } from '../src/index.js';
import { type BusyboxRoot, busyboxRootMissingReason, makeBusyboxRoot } from './busybox-root.js';

const skip = peerMissing('chroot into a busybox root', busyboxRootMissingReason());

/** A connected `ChrootConnector` into a fresh busybox root, and how to take both down. */
async function openChroot(): Promise<{ root: BusyboxRoot; connector: ChrootConnector }> {
  const root = await makeBusyboxRoot();
  const [name, hostData] = ChrootConnector.makeNamesData(root.dir)[0]!;
  const data = buildConnectorData('chroot', CHROOT_DATA_META, hostData);
  const connector = new ChrootConnector(createTestHost({ name, hostData, data }));
  await connector.connect();
  return { root, connector };
}

describe.skipIf(skip !== undefined)('ChrootConnector, beyond the conformance suite', () => {
  let chroot = {} as Partial<Awaited<ReturnType<typeof openChroot>>>;
  const connectorOf = () => chroot.connector as ChrootConnector;
  beforeAll(async () => {
    chroot = await openChroot();
  });
  afterAll(async () => {
    await chroot.connector?.disconnect();
    await chroot.root?.remove();
  });

  it('runs commands inside the root, not on the machine', async () => {
    const result = await connectorOf().runShellCommand(
      'cat /etc/os-release; test -e /work || echo no-work',
    );
    expect(result.output.stdoutLines).toEqual(['NAME="infra busybox chroot"', 'no-work']);
  });

  it('does not pass the caller environment into the root', async () => {
    process.env.INFRA_CHROOT_LEAK = 'leaked';
    try {
      const result = await connectorOf().runShellCommand(
        'if [ -n "$INFRA_CHROOT_LEAK" ]; then echo leaked; else echo unset; fi; echo "$PATH"',
      );
      expect(result.output.stdoutLines).toEqual([
        'unset',
        '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      ]);
    } finally {
      delete process.env.INFRA_CHROOT_LEAK;
    }
  });

  it('keeps a secret out of the argument list the machine shows', async () => {
    const secret = `chroot-secret-${Math.random().toString(36).slice(2)}`;
    // While it sleeps, the command's argv (and its shell's) must not hold the secret.
    const connector = connectorOf();
    const running = connector.runShellCommand(sh`sleep 1; printf %s ${new MaskString(secret)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { execFileSync } = await import('node:child_process');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).not.toContain(secret);
    expect((await running).output.stdout).toBe(secret);
  });

  it('fails a getFile into a missing local folder naming it, without throwing elsewhere', async () => {
    const connector = connectorOf();
    await connector.putFile(Buffer.from('x'), '/tmp/one.txt');
    const missing = join((chroot.root as BusyboxRoot).dir, '..', 'no-such-local-dir', 'one.txt');
    await expect(connector.getFile('/tmp/one.txt', missing)).rejects.toMatchObject({
      code: 'FILE_TRANSFER_FAILED',
      message: expect.stringContaining('no-such-local-dir'),
    });
  });
});
