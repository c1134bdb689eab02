// A deploy to an ssh host whose key changed, through the real `infra` binary and
// a loopback OpenSSH sshd: the warning is said once, and nothing is planned or applied.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { parseEvents, runInfra } from './infra-process.js';

const sshSkip = peerMissing('sshd', sshdMissingReason());

describe.skipIf(sshSkip !== undefined)('a deploy to a host whose key changed', () => {
  let sshd: SshdFixture;
  let dir: string;
  let args: string[];

  beforeAll(async () => {
    sshd = await startSshd();
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-host-key-'));
    await writeFile(
      join(dir, 'touch.ts'),
      `import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  await ops.server.shell({ commands: 'true' });\n});\n`,
    );
    // Another key than the server's under its name: what a reinstalled (or spoofed) host looks like.
    const [type, blob] = sshd.clientKey.publicKey.split(' ');
    const knownHosts = await sshd.writeKnownHosts('changed', [
      `[127.0.0.1]:${sshd.port} ${type} ${blob}`,
    ]);
    args = [
      '@ssh:127.0.0.1',
      'touch.ts',
      '-y',
      '--data',
      `ssh_port=${sshd.port}`,
      '--data',
      `ssh_user=${TEST_USERS.plain.name}`,
      '--data',
      `ssh_key=${sshd.clientKey.privateKeyPath}`,
      '--data',
      `ssh_known_hosts_file=${knownHosts}`,
    ];
  });

  afterAll(async () => {
    await sshd?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('says the key CHANGED once and applies nothing', async () => {
    const result = await runInfra(args, { cwd: dir });
    expect(result.code).toBe(1);
    const all = `${result.stdout}${result.stderr}`;
    expect(all.match(/has CHANGED/g)).toHaveLength(1);
    expect(result.stdout).not.toContain('--> Applying changes');
    expect(result.stdout).toContain('1 of 1 hosts failed: 127.0.0.1. Nothing was applied.');

    const json = await runInfra([...args, '--json'], { cwd: dir });
    const connect = parseEvents(json.stdout).find((event) => event.type === 'connect');
    expect(connect).toMatchObject({ host: '127.0.0.1', connector: 'ssh', success: false });
  });
});
