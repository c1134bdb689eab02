// The conformance suite on @chroot: on this machine, and through @ssh (the loopback
// sshd, logged in as root) with via, the chroot a busybox root built by the testkit.
import { describeConnector, TEST_USERS } from '@infra/connector-testkit';
import { chrootConnector, chrootSkip, sshVia, useChrootPeers, viaSshSkip } from './chroot-hosts.js';

const peers = useChrootPeers();

/** busybox su, run as root inside the root: commands and files as another user. */
const capabilities = { become: ['su'], becomeUser: TEST_USERS.plain.name } as const;

describeConnector({
  name: 'chroot (busybox root on this machine)',
  skip: chrootSkip,
  async connect() {
    const connector = chrootConnector(peers.root().dir);
    await connector.connect();
    return connector;
  },
  capabilities,
  connectFailure: {
    connect: () => chrootConnector(`${peers.root().dir}/etc`).connect(),
    message: /\/etc\/bin\/sh is missing on this machine: .* is not a root file system/,
  },
});

async function viaSsh(user?: string) {
  const via = sshVia(peers.sshd(), user);
  peers.track(via.connector);
  await via.connector.connect();
  return via;
}

describeConnector({
  name: 'chroot via ssh (busybox root through the loopback sshd)',
  skip: viaSshSkip,
  async connect() {
    const connector = chrootConnector(peers.root().dir, await viaSsh());
    await connector.connect();
    return connector;
  },
  capabilities,
  connectFailure: {
    // chroot runs on the via host, so its checks do: there the login user is no root.
    connect: async () =>
      chrootConnector(peers.root().dir, await viaSsh(TEST_USERS.plain.name)).connect(),
    message:
      /chroot needs root \(CAP_SYS_CHROOT\) on @ssh:infra-plain@127\.0\.0\.1: log in to it as root/,
  },
});
