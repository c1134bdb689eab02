import { createTestHost, describeConnector, peerMissing } from '@infra/connector-testkit';
import { buildConnectorData } from '@infra/core';
import { afterAll } from 'vitest';
import { CHROOT_DATA_META, ChrootConnector } from '../src/index.js';
import {
  BECOME_USER,
  type BusyboxRoot,
  busyboxRootMissingReason,
  makeBusyboxRoot,
} from './busybox-root.js';

const skip = peerMissing('chroot into a busybox root', busyboxRootMissingReason());
const root: BusyboxRoot | undefined = skip === undefined ? await makeBusyboxRoot() : undefined;
afterAll(() => root?.remove());

function connectorFor(directory: string): ChrootConnector {
  const [name, hostData] = ChrootConnector.makeNamesData(directory)[0]!;
  return new ChrootConnector(
    createTestHost({
      name,
      hostData,
      data: buildConnectorData('chroot', CHROOT_DATA_META, hostData),
    }),
  );
}

describeConnector({
  name: 'chroot (busybox root)',
  skip,
  async connect() {
    const connector = connectorFor(root!.dir);
    await connector.connect();
    return connector;
  },
  // busybox su, run as root inside the root: commands and files as another user.
  capabilities: { become: ['su'], becomeUser: BECOME_USER },
  connectFailure: {
    connect: () => connectorFor(`${root!.dir}/etc`).connect(),
    message: /\/etc\/bin\/sh is missing: .* is not a root file system/,
  },
});
