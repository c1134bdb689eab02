// The conformance suite on @chroot: on this machine, and through @ssh (the loopback
// sshd, logged in as root) with via, the chroot a busybox root built by the testkit.
import {
  type BusyboxRoot,
  busyboxRootMissingReason,
  describeConnector,
  makeBusyboxRoot,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll } from 'vitest';
import { chrootConnector, sshVia } from './chroot-hosts.js';

const skip = peerMissing('chroot into a busybox root', busyboxRootMissingReason());
const sshSkip = skip ?? peerMissing('sshd', sshdMissingReason());
let root: BusyboxRoot | undefined;
let sshd: SshdFixture | undefined;
const vias: { disconnect(): Promise<void> }[] = [];

beforeAll(async () => {
  if (skip === undefined) root = await makeBusyboxRoot();
  if (sshSkip === undefined) sshd = await startSshd({ rootLogin: true });
});

afterAll(async () => {
  await Promise.all(vias.map((via) => via.disconnect()));
  await sshd?.dispose();
  await root?.remove();
});

/** busybox su, run as root inside the root: commands and files as another user. */
const capabilities = { become: ['su'], becomeUser: TEST_USERS.plain.name } as const;

describeConnector({
  name: 'chroot (busybox root on this machine)',
  skip,
  async connect() {
    const connector = chrootConnector(root!.dir);
    await connector.connect();
    return connector;
  },
  capabilities,
  connectFailure: {
    connect: () => chrootConnector(`${root!.dir}/etc`).connect(),
    message: /\/etc\/bin\/sh is missing on this machine: .* is not a root file system/,
  },
});

async function viaSsh(user?: string) {
  const via = sshVia(sshd!, user);
  vias.push(via.connector);
  await via.connector.connect();
  return via;
}

describeConnector({
  name: 'chroot via ssh (busybox root through the loopback sshd)',
  skip: sshSkip,
  async connect() {
    const connector = chrootConnector(root!.dir, await viaSsh());
    await connector.connect();
    return connector;
  },
  capabilities,
  connectFailure: {
    // chroot runs on the via host, so its checks do: there the login user is no root.
    connect: async () => chrootConnector(root!.dir, await viaSsh(TEST_USERS.plain.name)).connect(),
    message:
      /chroot needs root \(CAP_SYS_CHROOT\) on @ssh:infra-plain@127\.0\.0\.1: log in to it as root/,
  },
});
