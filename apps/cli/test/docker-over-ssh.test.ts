// `infra @docker:IMAGE --data docker_host=ssh://USER@HOST exec -- ...` through the real
// `infra` binary: the test dockerd's socket reached as infra-plain through a loopback
// OpenSSH sshd (the engine opens the @ssh host that docker_host names and the docker
// connector rides on it), and a host key that does not match refused before anything runs.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildBusyboxImage,
  type DockerdFixture,
  dockerdMissingReason,
  peerMissing,
  type SshdFixture,
  shareUnixSocket,
  sshdMissingReason,
  startDockerd,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInfra } from './infra-process.js';

const skip =
  peerMissing('dockerd', dockerdMissingReason()) ?? peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain.name;

describe.skipIf(skip !== undefined)('infra @docker:IMAGE with docker_host=ssh://', () => {
  let dockerd: DockerdFixture;
  let sshd: SshdFixture;
  let image: string;
  let dir: string;

  beforeAll(async () => {
    [dockerd, sshd] = await Promise.all([startDockerd(), startSshd()]);
    image = await buildBusyboxImage(dockerd, { tag: 'infra-cli-test/busybox:latest' });
    // infra-plain may use this dockerd, as a member of the docker group would.
    await shareUnixSocket(dockerd.socketPath, user);
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-docker-ssh-'));
  });

  afterAll(async () => {
    await sshd?.dispose();
    await dockerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The command line of the README's example, with the ssh keys the fixture needs. */
  const args = (knownHostsFile: string, command: string[]) => [
    `@docker:${image}`,
    '--data',
    `docker_host=ssh://${user}@${sshd.host}:${sshd.port}${dockerd.socketPath}`,
    '--data',
    `ssh_key=${sshd.clientKey.privateKeyPath}`,
    '--data',
    `ssh_known_hosts_file=${knownHostsFile}`,
    '--data',
    'ssh_allow_agent=false',
    '--data',
    'docker_network=none',
    '--data',
    'docker_commit=false',
    'exec',
    '--',
    ...command,
  ];

  const containers = async (): Promise<unknown[]> =>
    (await dockerd.api('GET', '/containers/json?all=true')).json as unknown[];

  it('runs the command in a container on the daemon behind the ssh host', async () => {
    const result = await runInfra(
      args(sshd.knownHostsFile, ['sh', '-c', 'echo "hi from $(cat /etc/hostname)"; id -un']),
      { cwd: dir },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^\\[@docker:${image}\\] hi from [0-9a-f]{12}$`, 'm'));
    expect(result.stdout).toMatch(new RegExp(`^\\[@docker:${image}\\] root$`, 'm'));
    // The container was removed at the end.
    expect(await containers()).toEqual([]);
    // It went through the ssh host: sshd logged infra-plain's login with the fixture's key.
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(sshd.logFile, 'utf8')).toMatch(
      new RegExp(`Accepted publickey for ${user} from 127\\.0\\.0\\.1`),
    );
  });

  it('refuses an ssh:// address with a password as bad input (exit 2), never showing it', async () => {
    const result = await runInfra(
      [`@docker:${image}`, '--data', 'docker_host=ssh://deploy:hunter2@web1', 'exec', '--', 'true'],
      { cwd: dir },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('docker_host "ssh://deploy:***@web1" carries a password');
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
  });

  it('refuses a host key that does not match known_hosts, and starts no container', async () => {
    // Another key than the server's under its name: a reinstalled (or spoofed) host.
    const [type, blob] = sshd.clientKey.publicKey.split(' ');
    const wrong = await sshd.writeKnownHosts('known_hosts.changed', [
      `[127.0.0.1]:${sshd.port} ${type} ${blob}`,
    ]);
    const result = await runInfra(args(wrong, ['touch', '/never']), { cwd: dir });
    expect(result.code).toBe(1);
    const all = `${result.stdout}${result.stderr}`;
    expect(all).toMatch(/has CHANGED/);
    expect(all).toContain(sshd.hostFingerprint);
    expect(await containers()).toEqual([]);
  });
});
