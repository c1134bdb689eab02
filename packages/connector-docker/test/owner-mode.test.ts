import { TEST_USERS, useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerConnector } from '../src/index.js';
import { dockerConnector } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();
const plain = TEST_USERS.plain.name;

describe.skipIf(skip !== undefined)('docker put: owner and mode of a replaced file', () => {
  let connector: DockerConnector;

  beforeAll(async () => {
    ({ connector } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
      docker_commit: false,
    }));
    await connector.connect();
  });

  afterAll(async () => {
    await connector?.disconnect();
  });

  async function ownerAndMode(path: string): Promise<string> {
    const result = await connector.runShellCommand(`stat -c '%U:%G %a' ${path}`);
    expect(result.success).toBe(true);
    return result.output.stdout;
  }

  it('keeps the owner and the mode (set-id bits too) of the file it replaces', async () => {
    await connector.runShellCommand(
      `mkdir -p /srv && echo old > /srv/tool && chown ${plain}:${plain} /srv/tool && chmod 4750 /srv/tool`,
    );
    await connector.putFile(Buffer.from('new\n'), '/srv/tool');
    expect(await ownerAndMode('/srv/tool')).toBe(`${plain}:${plain} 4750`);
    // A mode asked for wins; the owner stays.
    await connector.putFile(Buffer.from('newer\n'), '/srv/tool', { mode: 0o640 });
    expect(await ownerAndMode('/srv/tool')).toBe(`${plain}:${plain} 640`);
    expect((await connector.runShellCommand('cat /srv/tool')).output.stdout).toBe('newer');
  });

  it('keeps them the same way for a put as a become user', async () => {
    await connector.runShellCommand(
      `echo old > /srv/tool2 && chown ${plain}:${plain} /srv/tool2 && chmod 4750 /srv/tool2`,
    );
    await connector.putFile(Buffer.from('new\n'), '/srv/tool2', { suUser: 'root' });
    expect(await ownerAndMode('/srv/tool2')).toBe(`${plain}:${plain} 4750`);
    await connector.putFile(Buffer.from('newer\n'), '/srv/tool2', { suUser: 'root', mode: 0o640 });
    expect(await ownerAndMode('/srv/tool2')).toBe(`${plain}:${plain} 640`);
    await connector.putFile(Buffer.from('x'), '/srv/new2.txt', { suUser: 'root' });
    expect(await ownerAndMode('/srv/new2.txt')).toBe('root:root 644');
  });

  it('gives a new file the exec user as owner, and mode 644', async () => {
    await connector.putFile(Buffer.from('x'), '/srv/new.txt');
    expect(await ownerAndMode('/srv/new.txt')).toBe('root:root 644');
  });

  it('as an exec user who may not chown, the replaced file becomes its own', async () => {
    await connector.runShellCommand(
      `mkdir -p /srv/shared && chmod 777 /srv/shared && echo old > /srv/shared/f && chmod 666 /srv/shared/f`,
    );
    const { connector: asPlain } = dockerConnector(dockerd!, {
      docker_identifier: connector.containerId,
      docker_user: plain,
    });
    await asPlain.connect();
    try {
      await asPlain.putFile(Buffer.from('mine\n'), '/srv/shared/f');
    } finally {
      await asPlain.disconnect();
    }
    expect(await ownerAndMode('/srv/shared/f')).toBe(`${plain}:${plain} 666`);
  });
});
