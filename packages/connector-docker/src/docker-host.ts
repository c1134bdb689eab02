import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InfraError, InventoryError, VIA_DATA_KEY, type ViaTarget } from '@infra/core';
import type { DockerOptions } from 'dockerode';
import {
  describeSshDaemon,
  parseSshDaemonAddress,
  SshAddressProblem,
  type SshDaemonTarget,
  sshViaTarget,
} from './ssh-daemon-address.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** A `docker_host` / `DOCKER_HOST` the connector cannot use. */
export class DockerHostError extends InfraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DOCKER_HOST_INVALID', message, options);
  }
}

/** Where the daemon is and how to talk to it. */
export interface DockerDaemonAddress {
  /** Options for `new Docker(...)`; for an `ssh://` daemon, none (the session adds the way there). */
  readonly options: DockerOptions;
  /** The address as the user wrote it (unix:///..., tcp://host:port, ssh://user@host/socket), for messages. */
  readonly description: string;
  /** Where the address came from: the data key (`docker_host`), the variable (`DOCKER_HOST`) or `default`. */
  readonly source: string;
  /** TLS is on, and whether the server certificate is checked. */
  readonly tls: 'off' | 'verify' | 'no-verify';
  /** `ssh://`: the daemon's socket on a host reached through the ssh connection (`host.via`). */
  readonly ssh?: SshDaemonTarget;
  /** The rules it was found by (the data key and variable to point elsewhere, the daemon's name). */
  readonly rules: DaemonAddressRules;
}

/** How one flavour of the connector (docker, podman) finds its daemon, as that tool's CLI does. */
export interface DaemonAddressRules {
  /** The host data key, e.g. `docker_host`. */
  readonly dataKey: string;
  /** The environment variable read when the data key is not given, e.g. `DOCKER_HOST`. */
  readonly envName: string;
  /** The address used when neither is given. */
  readonly defaultAddress: string;
  /** The daemon's socket on an `ssh://` host whose address names none. */
  readonly defaultSshSocket: string;
  /** TLS for tcp:// from `DOCKER_TLS_VERIFY`, `DOCKER_TLS` and `DOCKER_CERT_PATH` (the docker CLI's). */
  readonly tlsFromEnv: boolean;
  /** The daemon in messages: `the Docker daemon`. */
  readonly daemonName: string;
  /** What should be running at the address, for the message when nothing answers. */
  readonly serverHint: string;
}

export const DOCKER_ADDRESS_RULES: DaemonAddressRules = {
  dataKey: 'docker_host',
  envName: 'DOCKER_HOST',
  defaultAddress: DEFAULT_DOCKER_HOST,
  defaultSshSocket: '/var/run/docker.sock',
  tlsFromEnv: true,
  daemonName: 'the Docker daemon',
  serverHint: 'Is dockerd running there?',
};

export const DEFAULT_PODMAN_HOST = 'unix:///run/podman/podman.sock';

/** podman's: `podman_host`, else `CONTAINER_HOST` (as `podman --remote`), else the rootful socket. */
export const PODMAN_ADDRESS_RULES: DaemonAddressRules = {
  dataKey: 'podman_host',
  envName: 'CONTAINER_HOST',
  defaultAddress: DEFAULT_PODMAN_HOST,
  defaultSshSocket: '/run/podman/podman.sock',
  tlsFromEnv: false,
  daemonName: 'the Podman API service',
  serverHint:
    'Is its API service running there (podman system service, or systemctl start podman.socket)?',
};

function envFlag(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name];
  return value !== undefined && value !== '';
}

/**
 * The TLS files of the docker CLI: `DOCKER_CERT_PATH` (default `~/.docker`)
 * holding `ca.pem`, `cert.pem` and `key.pem`. A missing file is left out (the
 * system CAs, no client certificate), as the CLI does.
 */
function readTlsFiles(
  certPath: string,
  verify: boolean,
  readFile: (path: string) => Buffer,
): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (name: string): Buffer | undefined => {
    try {
      return readFile(join(certPath, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new DockerHostError(
        `Cannot read ${join(certPath, name)} (DOCKER_CERT_PATH): ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
  const files: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  const ca = verify ? read('ca.pem') : undefined;
  const cert = read('cert.pem');
  const key = read('key.pem');
  if (ca) files.ca = ca;
  if (cert && key) {
    files.cert = cert;
    files.key = key;
  }
  return files;
}

/**
 * Resolve the daemon address as the docker CLI does: `docker_host`, else
 * `DOCKER_HOST`, else the local unix socket. For tcp, TLS is on when
 * `DOCKER_TLS_VERIFY` (checks the server against `ca.pem`) or `DOCKER_TLS` is
 * set, with the files in `DOCKER_CERT_PATH`; `https://` turns it on too.
 * `ssh://[user@]host[:port][/socket]` is the daemon's socket on that host.
 */
export function resolveDockerHost(
  dockerHost: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => Buffer = readFileSync,
): DockerDaemonAddress {
  return resolveDaemonAddress(dockerHost, DOCKER_ADDRESS_RULES, env, readFile);
}

/** The address given to a connector flavour: its data key, else its variable, else its default. */
export function givenDaemonAddress(
  given: string | undefined,
  rules: DaemonAddressRules,
  env: NodeJS.ProcessEnv = process.env,
): { address: string; source: string } {
  const fromEnv = env[rules.envName] !== undefined && env[rules.envName] !== '';
  const source = given !== undefined ? rules.dataKey : fromEnv ? rules.envName : 'default';
  const address = (
    given ??
    (fromEnv ? env[rules.envName] : undefined) ??
    rules.defaultAddress
  ).trim();
  return { address, source };
}

/** `resolveDockerHost` for any flavour's rules. */
export function resolveDaemonAddress(
  given: string | undefined,
  rules: DaemonAddressRules,
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => Buffer = readFileSync,
): DockerDaemonAddress {
  const { address, source } = givenDaemonAddress(given, rules, env);
  // A password in the address (`ssh://user:pw@host`) is never shown.
  const shown = JSON.stringify(address.replace(/^([a-z]+:\/\/[^/@:]*):[^/@]*@/, '$1:***@'));
  const scheme = /^([a-z]+):\/\//.exec(address)?.[1];

  if (scheme === 'unix') {
    const socketPath = address.slice('unix://'.length);
    if (socketPath === '') {
      throw new DockerHostError(
        `${source} ${shown} has no socket path: expected unix:///path/to/${rules.defaultSshSocket.split('/').pop()}.`,
      );
    }
    return { options: { socketPath }, description: address, source, tls: 'off', rules };
  }
  if (scheme === 'ssh') {
    let ssh: SshDaemonTarget;
    try {
      ssh = parseSshDaemonAddress(address, rules.defaultSshSocket);
    } catch (error) {
      if (!(error instanceof SshAddressProblem)) throw error;
      throw new DockerHostError(`${source} ${shown} ${error.message}`, {
        cause: error,
      });
    }
    return { options: {}, description: describeSshDaemon(ssh), source, tls: 'off', ssh, rules };
  }
  if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(address.replace(/^tcp:/, 'http:'));
    } catch (error) {
      throw new DockerHostError(`${source} ${shown} is not an address: expected tcp://host:port.`, {
        cause: error,
      });
    }
    if (url.hostname === '') {
      throw new DockerHostError(`${source} ${shown} has no host name: expected tcp://host:port.`);
    }
    const verify = rules.tlsFromEnv ? envFlag(env, 'DOCKER_TLS_VERIFY') : scheme === 'https';
    const tlsOn = scheme === 'https' || verify || (rules.tlsFromEnv && envFlag(env, 'DOCKER_TLS'));
    const port = url.port !== '' ? Number(url.port) : tlsOn ? 2376 : 2375;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const description = `${scheme}://${url.host}${url.port === '' ? `:${port}` : ''}`;
    if (!tlsOn) {
      return {
        options: { host, port, protocol: 'http' },
        description,
        source,
        tls: 'off',
        rules,
      };
    }
    const certPath = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
    const files = rules.tlsFromEnv ? readTlsFiles(certPath, verify, readFile) : {};
    // Through an agent: docker-modem has no switch for an unchecked server certificate.
    const agent = new Agent({ ...files, rejectUnauthorized: verify, keepAlive: false });
    const options = { host, port, protocol: 'https' as const, agent, ...files };
    return {
      options: options as DockerOptions,
      description,
      source,
      tls: verify ? 'verify' : 'no-verify',
      rules,
    };
  }
  throw new DockerHostError(
    `${source} ${shown} is not a daemon address this connector can use: expected unix:///path/to/socket, ssh://[user@]host[:port] or tcp://host:port.`,
  );
}

/**
 * The `@ssh` host an `ssh://` address runs through (the connector class's
 * `viaOf`), or undefined for a local or tcp daemon. Read with the inventory, so a
 * bad address, or `via=` (the daemon's address says where it is), is an
 * `InventoryError`.
 */
export function daemonViaTarget(
  hostData: Readonly<Record<string, unknown>>,
  rules: DaemonAddressRules,
  env: NodeJS.ProcessEnv = process.env,
): ViaTarget | undefined {
  const via = hostData[VIA_DATA_KEY];
  if (via !== undefined && via !== '') {
    throw new InventoryError(
      `${VIA_DATA_KEY}=${String(via)} is not for this connector: it finds its daemon by ${rules.dataKey} (or ${rules.envName}); reach a daemon on another host with ${rules.dataKey}=ssh://user@host.`,
    );
  }
  const given = hostData[rules.dataKey];
  const { address, source } = givenDaemonAddress(
    typeof given === 'string' ? given : undefined,
    rules,
    env,
  );
  if (!address.startsWith('ssh://')) return undefined;
  try {
    const { ssh } = resolveDaemonAddress(address, { ...rules, dataKey: source }, env);
    return ssh ? sshViaTarget(ssh) : undefined;
  } catch (error) {
    if (!(error instanceof DockerHostError)) throw error;
    throw new InventoryError(error.message, { cause: error });
  }
}
