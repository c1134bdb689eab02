import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import { createTestHost, RecordingLogger, type SshdFixture } from '@infra/connector-testkit';
import { buildConnectorData } from '@infra/core';

/**
 * The `@ssh` host a docker_host=ssh:// address runs through, as the engine would
 * make it from `viaOf` (the connection string's user and host, its ssh_port), plus
 * the fixture's key and known_hosts. Until the engine side is here, tests build
 * `host.via` from it themselves.
 */
export function sshVia(
  sshd: SshdFixture,
  user: string,
  data: Record<string, unknown> = {},
): { via: SshConnector; log: RecordingLogger } {
  const hostData: Record<string, unknown> = {
    ssh_hostname: sshd.host,
    ssh_port: sshd.port,
    ssh_user: user,
    ssh_key: sshd.clientKey.privateKeyPath,
    ssh_known_hosts_file: sshd.knownHostsFile,
    ssh_strict_host_key_checking: 'yes',
    ssh_allow_agent: false,
    ...data,
  };
  const log = new RecordingLogger();
  const host = createTestHost({
    name: `@ssh:${user}@${sshd.host}`,
    data: buildConnectorData('ssh', SSH_DATA_META, hostData),
    hostData,
    log,
  });
  return { via: new SshConnector(host), log };
}
