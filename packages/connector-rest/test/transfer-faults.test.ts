import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  agentMissingReason,
  notRootReason,
  peerMissing,
  startAgent,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRest } from './rest-host.js';

const skip = peerMissing('infra-agent (REST connector)', agentMissingReason() ?? notRootReason());

async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

describe.skipIf(skip !== undefined)('rest file transfers when the agent dies', () => {
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'infra-rest-faults-'));
  });

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('gets a file whose stat size is 0 (/proc/version) whole, not as 0 bytes', async () => {
    const agent = await startAgent({ resourceId: 'proc-files' });
    try {
      const connector = await connectRest({
        api_url: agent.url,
        api_key: agent.token,
        api_resource_id: agent.resourceId,
      });
      const dest = join(work, 'version.txt');
      await connector.getFile('/proc/version', dest);
      expect(await readFile(dest, 'utf8')).toBe(await readFile('/proc/version', 'utf8'));
      await connector.disconnect();
    } finally {
      await agent.stop();
    }
  });

  it('a download cut short keeps the existing local file byte for byte, and leaves nothing beside it', async () => {
    const agent = await startAgent({ resourceId: 'dies-mid-get' });
    try {
      const connector = await connectRest({
        api_url: agent.url,
        api_key: agent.token,
        api_resource_id: agent.resourceId,
      });
      const remote = join(work, 'huge.bin');
      await writeFile(remote, '');
      await truncate(remote, 4 * 1024 * 1024 * 1024); // sparse: nothing on disk
      const local = await mkdtemp(join(work, 'local-'));
      const dest = join(local, 'kept.bin');
      const old = Buffer.from('the bytes the user had\n\u0000\u00ff');
      await writeFile(dest, old);

      const transfer = errorOf(connector.getFile(remote, dest));
      // The bytes are arriving: a file beside the destination, or (before the fix) the
      // destination itself truncated.
      for (;;) {
        const names = await readdir(local);
        const size = (await stat(dest).catch(() => undefined))?.size;
        if (names.length > 1 || size !== old.length) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      agent.kill('SIGKILL');
      const error = await transfer;
      expect(error.message).toContain(remote);
      expect(await readFile(dest)).toEqual(old);
      expect(await readdir(local)).toEqual(['kept.bin']);
      await connector.disconnect();
    } finally {
      agent.kill('SIGKILL');
      await agent.exited;
    }
  });
});
