import {
  describeConnector,
  freeLoopbackPort,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll } from 'vitest';
import { sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());

let sshd: SshdFixture | undefined;

beforeAll(async () => {
  if (skip === undefined) sshd = await startSshd({ maxSessions: 4 });
});

afterAll(async () => {
  await sshd?.dispose();
});

describeConnector({
  name: 'ssh (OpenSSH sshd on loopback)',
  skip,
  async connect() {
    if (!sshd) throw new Error('sshd fixture did not start');
    const { connector } = sshConnector(sshd, { user: TEST_USERS.sudo.name });
    await connector.connect();
    return connector;
  },
  async connectAsSudoPasswordUser() {
    if (!sshd) throw new Error('sshd fixture did not start');
    const { connector } = sshConnector(sshd, { user: TEST_USERS.sudoPassword.name });
    await connector.connect();
    return connector;
  },
  async connectWithSudoPasswordInHostData() {
    if (!sshd) throw new Error('sshd fixture did not start');
    const { connector } = sshConnector(sshd, {
      user: TEST_USERS.sudoPassword.name,
      data: { sudo_password: TEST_USERS.sudoPassword.password },
    });
    await connector.connect();
    return connector;
  },
  capabilities: { become: ['sudo', 'doas'], pty: true },
  connectFailure: {
    async connect() {
      if (!sshd) throw new Error('sshd fixture did not start');
      const port = await freeLoopbackPort();
      const { connector } = sshConnector(sshd, {
        user: TEST_USERS.sudo.name,
        data: { ssh_port: port },
      });
      await connector.connect();
    },
    message: /ECONNREFUSED/,
  },
});
