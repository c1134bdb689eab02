import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import { createTestHost, type SshdFixture } from '@infra/connector-testkit';
import { buildConnectorData, type Connector } from '@infra/core';
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
