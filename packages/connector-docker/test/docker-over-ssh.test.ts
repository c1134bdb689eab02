import {
  describeConnector,
  peerMissing,
  type SshdFixture,
  shareUnixSocket,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
  useDockerd,
} from '@infra/connector-testkit';
import type { Connector } from '@infra/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { DockerConnector } from '../src/index.js';
import { dockerConnector, echoThrough, engineConnector, withEnv } from './docker-test-host.js';
import { sshVia } from './ssh-via.js';

// docker_host=ssh://USER@127.0.0.1:PORT/SOCKET: the test dockerd's socket, reached as
// infra-plain through the fixture sshd, the way DOCKER_HOST=ssh:// works for the docker CLI.
const { dockerd, skip: dockerdSkip } = await useDockerd();
const skip = dockerdSkip ?? peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain.name;
let sshd: SshdFixture | undefined;
if (skip === undefined) {
  sshd = await startSshd();
  // infra-plain may use the daemon, as a member of the docker group would.
  await shareUnixSocket(dockerd!.socketPath, user);
}
const sshAddress = (socketPath = dockerd!.socketPath, login = user) =>
  `ssh://${login}@${sshd!.host}:${sshd!.port}${socketPath}`;
const image = dockerd?.images.busyboxSudo ?? dockerd?.images.busybox;

// One ssh connection shared by every docker host of this file, as the engine shares it.
const shared = sshd ? sshVia(sshd, user).via : undefined;

afterAll(async () => {
  await shared?.disconnect();
  await sshd?.dispose();
});

/** A docker host over ssh, through `via` (default: the shared connection; null: none). */
function overSsh(hostData: Record<string, unknown>, via: Connector | null = shared ?? null) {
  return engineConnector<DockerConnector>(
    'docker',
    { docker_host: sshAddress(), docker_network: 'none', docker_commit: false, ...hostData },
    via ? { via } : {},
  );
}

const connectedOverSsh = async (hostData: Record<string, unknown>) => {
  const { connector } = overSsh({ docker_identifier: image, ...hostData });
  await connector.connect();
  return connector;
};

describeConnector({
  name: 'docker over ssh (dockerd 20.10 through OpenSSH, busybox image)',
  skip,
  connect: () => connectedOverSsh({}),
  connectAsSudoPasswordUser: dockerd?.images.busyboxSudo
    ? () => connectedOverSsh({ docker_user: TEST_USERS.sudoPassword.name })
    : undefined,
  connectWithSudoPasswordInHostData: dockerd?.images.busyboxSudo
    ? () =>
        connectedOverSsh({
          docker_user: TEST_USERS.sudoPassword.name,
          sudo_password: TEST_USERS.sudoPassword.password,
        })
    : undefined,
  capabilities: {
    become: dockerd?.images.busyboxSudo ? ['sudo', 'su'] : ['su'],
    becomeUser: TEST_USERS.plain.name,
    pty: true,
  },
  connectFailure: {
    connect: () =>
      overSsh({
        docker_identifier: image,
        docker_host: sshAddress('/tmp/infra-no-such-dockerd.sock'),
      }).connector.connect(),
    message:
      /ssh:\/\/infra-plain@127\.0\.0\.1:\d+\/tmp\/infra-no-such-dockerd\.sock.*not reachable.*could not open the unix socket \/tmp\/infra-no-such-dockerd\.sock/,
  },
});

describe.skipIf(skip !== undefined)('docker over ssh', () => {
  it('runs several hosts at once over one shared ssh connection', async () => {
    const hosts = await Promise.all([1, 2, 3].map(() => connectedOverSsh({})));
    try {
      const results = await Promise.all(
        hosts.map((connector, i) => connector.runShellCommand(`echo host ${i}; hostname`)),
      );
      expect(results.map((result) => result.output.stdoutLines[0])).toEqual([
        'host 0',
        'host 1',
        'host 2',
      ]);
      // Three containers: three hostnames.
      expect(new Set(results.map((result) => result.output.stdoutLines[1])).size).toBe(3);
    } finally {
      await Promise.all(hosts.map((connector) => connector.disconnect()));
    }
  });

  it('takes the address from DOCKER_HOST when docker_host is not given', async () => {
    await withEnv('DOCKER_HOST', sshAddress(), async () => {
      const { connector } = engineConnector<DockerConnector>(
        'docker',
        { docker_identifier: image, docker_network: 'none', docker_commit: false },
        { via: shared! },
      );
      expect(await echoThrough(connector, 'via env')).toBe('via env');
    });
  });

  it('uses a docker_host given over DOCKER_HOST entirely (docker-modem reads DOCKER_HOST too)', async () => {
    await withEnv('DOCKER_HOST', 'ssh://nobody@127.0.0.1:1', async () => {
      const { connector } = dockerConnector(dockerd!, {
        docker_identifier: image,
        docker_commit: false,
      });
      expect(await echoThrough(connector, 'local')).toBe('local');
    });
  });

  it('refuses a host key that does not match known_hosts, starting no container', async () => {
    // The client key's line where the host key should be: a mismatch, as after a man in the middle.
    const wrong = sshd!.clientKey.publicKey.split(' ').slice(0, 2).join(' ');
    const knownHosts = await sshd!.writeKnownHosts('known_hosts.wrong', [
      `[${sshd!.host}]:${sshd!.port} ${wrong}`,
    ]);
    const { via } = sshVia(sshd!, user, { ssh_known_hosts_file: knownHosts });
    const { connector } = overSsh({ docker_identifier: image }, via);
    try {
      const error = await connector.connect().catch((caught: Error) => caught);
      expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
      expect((error as Error).message).toMatch(/host key/i);
      expect((error as Error).message).toContain(sshd!.hostFingerprint);
      expect(connector.containerId).toBeUndefined();
    } finally {
      await connector.disconnect();
      await via.disconnect();
    }
  });

  it('says what is missing when no ssh connection is given to run through', async () => {
    const { connector } = overSsh({ docker_identifier: image }, null);
    const error = await connector.connect().catch((caught: Error) => caught);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
    expect((error as Error).message).toMatch(
      /docker_host ssh:\/\/infra-plain@127\.0\.0\.1:\d+\/.*docker\.sock reaches the daemon over ssh.*given none.*SshConnector/,
    );
  });

  it('names the socket and the user when the user may not use it', async () => {
    const stranger = TEST_USERS.sudoPassword.name;
    const { via } = sshVia(sshd!, stranger);
    const { connector } = overSsh(
      { docker_identifier: image, docker_host: sshAddress(dockerd!.socketPath, stranger) },
      via,
    );
    try {
      const error = await connector.connect().catch((caught: Error) => caught);
      expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
      expect((error as Error).message).toContain(
        `could not open the unix socket ${dockerd!.socketPath} for ${stranger}`,
      );
    } finally {
      await via.disconnect();
    }
  });
});
