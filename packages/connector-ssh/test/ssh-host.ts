import { createTestHost, RecordingLogger, type SshdFixture } from '@infra/connector-testkit';
import { buildConnectorData, type SudoPasswordSource } from '@infra/core';
import { SSH_DATA_META, SshConnector } from '../src/index.js';

export interface SshHostOptions {
  user: string;
  /** Host data on top of the defaults below (they point at the fixture with its plain key). */
  data?: Record<string, unknown>;
  sudoPassword?: SudoPasswordSource;
  name?: string;
}

/** An `SshConnector` for a fixture sshd, with a logger the test can read. */
export function sshConnector(
  sshd: SshdFixture,
  options: SshHostOptions,
): {
  connector: SshConnector;
  log: RecordingLogger;
} {
  const hostData: Record<string, unknown> = {
    ssh_hostname: sshd.host,
    ssh_port: sshd.port,
    ssh_user: options.user,
    ssh_key: sshd.clientKey.privateKeyPath,
    ssh_known_hosts_file: sshd.knownHostsFile,
    ssh_strict_host_key_checking: 'yes',
    ssh_allow_agent: false,
    ...options.data,
  };
  for (const [key, value] of Object.entries(hostData))
    if (value === undefined) delete hostData[key];
  const log = new RecordingLogger();
  const host = createTestHost({
    name: options.name ?? `${options.user}@${sshd.host}:${sshd.port}`,
    data: buildConnectorData('ssh', SSH_DATA_META, hostData),
    hostData,
    log,
    ...(options.sudoPassword ? { sudoPassword: options.sudoPassword } : {}),
  });
  return { connector: new SshConnector(host), log };
}

export async function errorOf(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}
