import type { ViaTarget } from '@infra/core';

/**
 * A daemon reached over ssh, as the docker CLI's `DOCKER_HOST=ssh://` and podman's
 * `CONTAINER_HOST=ssh://` name it: the Engine API on a unix socket of that host.
 */
export interface SshDaemonTarget {
  /** The login name, when the address gives one (else the ssh connector's: ssh_config, $USER). */
  readonly user?: string;
  /** Host name or address (IPv6 without brackets); an ssh_config Host alias works too. */
  readonly host: string;
  /** When the address gives one (else ssh_config's Port, else 22). */
  readonly port?: number;
  /** The daemon's socket on that host. */
  readonly socketPath: string;
}

/** Why an `ssh://` address cannot be used (the caller adds where it came from). */
export class SshAddressProblem extends Error {}

const EXPECTED = 'expected ssh://[user@]host[:port][/path/to/socket]';

/**
 * Read `ssh://[user@]host[:port][/socket/path]`. A path after the host picks the
 * daemon's socket there (podman's addresses carry one; the docker CLI's never do,
 * and then `defaultSocket` is used).
 */
export function parseSshDaemonAddress(address: string, defaultSocket: string): SshDaemonTarget {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    // Without the URL error as cause: it holds the address, password and all.
    throw new SshAddressProblem(`is not an address: ${EXPECTED}.`);
  }
  if (url.password !== '') {
    throw new SshAddressProblem(
      `carries a password: ssh:// addresses log in as @ssh does (keys, the agent, ssh_password): ${EXPECTED}.`,
    );
  }
  if (url.search !== '' || url.hash !== '') {
    throw new SshAddressProblem(`has a query or fragment: ${EXPECTED}.`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new SshAddressProblem(`has no host name: ${EXPECTED}.`);
  const path = decodeURIComponent(url.pathname);
  const user = url.username === '' ? undefined : decodeURIComponent(url.username);
  return {
    ...(user === undefined ? {} : { user }),
    host,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    socketPath: path === '' || path === '/' ? defaultSocket : path,
  };
}

/** `ssh://user@host:port/socket`, complete, for messages. */
export function describeSshDaemon(target: SshDaemonTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const user = target.user === undefined ? '' : `${target.user}@`;
  const port = target.port === undefined ? '' : `:${target.port}`;
  return `ssh://${user}${host}${port}${target.socketPath}`;
}

/**
 * The `@ssh` host the daemon's socket is reached through (`ConnectorClass.viaOf`).
 * What the address says also goes in its data, the layer that wins, so a
 * `--data ssh_user=...` meant for other hosts does not change where it leads.
 */
export function sshViaTarget(target: SshDaemonTarget): ViaTarget {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const user = target.user === undefined ? '' : `${target.user}@`;
  return {
    connection: `@ssh:${user}${host}`,
    data: {
      ssh_hostname: target.host,
      ...(target.user === undefined ? {} : { ssh_user: target.user }),
      ...(target.port === undefined ? {} : { ssh_port: target.port }),
    },
  };
}
