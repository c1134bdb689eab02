import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import {
  type BusyboxRoot,
  busyboxRootMissingReason,
  createTestHost,
  makeBusyboxRoot,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
} from '@infra/connector-testkit';
import { buildConnectorData, type Connector } from '@infra/core';
import { afterAll, beforeAll } from 'vitest';
import { CHROOT_DATA_META, ChrootConnector } from '../src/index.js';

/** A `@chroot:DIR` connector, on this machine or through `via`. */
export function chrootConnector(
  directory: string,
  via?: { readonly name: string; readonly connector: Connector },
): ChrootConnector {
  const [name, hostData] = ChrootConnector.makeNamesData(directory)[0]!;
  return new ChrootConnector(
    createTestHost({
      name,
      hostData,
      data: buildConnectorData('chroot', CHROOT_DATA_META, hostData),
      ...(via ? { via } : {}),
    }),
  );
}

/** An `@ssh` connector to the fixture sshd as `user` (root by default: chroot needs it). */
export function sshVia(
  sshd: SshdFixture,
  user = 'root',
): { name: string; connector: SshConnector } {
  const hostData = {
    ssh_hostname: sshd.host,
    ssh_port: sshd.port,
    ssh_user: user,
    ssh_key: sshd.clientKey.privateKeyPath,
    ssh_known_hosts_file: sshd.knownHostsFile,
    ssh_allow_agent: false,
  };
  const name = `@ssh:${user}@${sshd.host}`;
  const data = buildConnectorData('ssh', SSH_DATA_META, hostData);
  return { name, connector: new SshConnector(createTestHost({ name, data, hostData })) };
}

/** Why chroot cannot run here (loud skip, a failure under CI), and why chroot through ssh cannot. */
export const chrootSkip = peerMissing('chroot into a busybox root', busyboxRootMissingReason());
export const viaSshSkip = chrootSkip ?? peerMissing('sshd', sshdMissingReason());

/**
 * The peers of a test file: a busybox root, and a loopback sshd where root may log in,
 * made before its tests and removed after them; connectors the file registers with
 * `track` are disconnected first.
 */
export function useChrootPeers(): {
  root(): BusyboxRoot;
  sshd(): SshdFixture;
  track(connector: Connector): void;
} {
  let root: BusyboxRoot | undefined;
  let sshd: SshdFixture | undefined;
  const tracked: Connector[] = [];
  beforeAll(async () => {
    if (chrootSkip === undefined) root = await makeBusyboxRoot();
    if (viaSshSkip === undefined) sshd = await startSshd({ rootLogin: true });
  });
  afterAll(async () => {
    await Promise.all(tracked.map((connector) => connector.disconnect()));
    await sshd?.dispose();
    await root?.remove();
  });
  const made = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the ${what} fixture did not start`);
    return value;
  };
  return {
    root: () => made(root, 'busybox root'),
    sshd: () => made(sshd, 'sshd'),
    track: (connector) => tracked.push(connector),
  };
}
