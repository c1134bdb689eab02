import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InfraError } from '@infra/core';
import type { DockerOptions } from 'dockerode';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** A `docker_host` / `DOCKER_HOST` the connector cannot use. */
export class DockerHostError extends InfraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DOCKER_HOST_INVALID', message, options);
  }
}

/** Where the daemon is and how to talk to it. */
export interface DockerDaemonAddress {
  /** Options for `new Docker(...)`. */
  readonly options: DockerOptions;
  /** The address as the user wrote it (unix:///..., tcp://host:port), for messages. */
  readonly description: string;
  /** Where the address came from: `docker_host`, `DOCKER_HOST` or the default. */
  readonly source: 'docker_host' | 'DOCKER_HOST' | 'default';
  /** TLS is on, and whether the server certificate is checked. */
  readonly tls: 'off' | 'verify' | 'no-verify';
}

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
 */
export function resolveDockerHost(
  dockerHost: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  readFile: (path: string) => Buffer = readFileSync,
): DockerDaemonAddress {
  const fromEnv = env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '';
  const source = dockerHost !== undefined ? 'docker_host' : fromEnv ? 'DOCKER_HOST' : 'default';
  const address = (
    dockerHost ??
    (fromEnv ? env.DOCKER_HOST : undefined) ??
    DEFAULT_DOCKER_HOST
  ).trim();
  const scheme = /^([a-z]+):\/\//.exec(address)?.[1];

  if (scheme === 'unix') {
    const socketPath = address.slice('unix://'.length);
    if (socketPath === '') {
      throw new DockerHostError(
        `${source} ${JSON.stringify(address)} has no socket path: expected unix:///path/to/docker.sock.`,
      );
    }
    return { options: { socketPath }, description: address, source, tls: 'off' };
  }
  if (scheme === 'tcp' || scheme === 'http' || scheme === 'https') {
    let url: URL;
    try {
      url = new URL(address.replace(/^tcp:/, 'http:'));
    } catch (error) {
      throw new DockerHostError(
        `${source} ${JSON.stringify(address)} is not an address: expected tcp://host:port.`,
        { cause: error },
      );
    }
    if (url.hostname === '') {
      throw new DockerHostError(
        `${source} ${JSON.stringify(address)} has no host name: expected tcp://host:port.`,
      );
    }
    const verify = envFlag(env, 'DOCKER_TLS_VERIFY');
    const tlsOn = scheme === 'https' || verify || envFlag(env, 'DOCKER_TLS');
    const port = url.port !== '' ? Number(url.port) : tlsOn ? 2376 : 2375;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const description = `${scheme}://${url.host}${url.port === '' ? `:${port}` : ''}`;
    if (!tlsOn) {
      return { options: { host, port, protocol: 'http' }, description, source, tls: 'off' };
    }
    const certPath = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
    const files = readTlsFiles(certPath, verify, readFile);
    // Through an agent: docker-modem has no switch for an unchecked server certificate.
    const agent = new Agent({ ...files, rejectUnauthorized: verify, keepAlive: false });
    const options = { host, port, protocol: 'https' as const, agent, ...files };
    return {
      options: options as DockerOptions,
      description,
      source,
      tls: verify ? 'verify' : 'no-verify',
    };
  }
  throw new DockerHostError(
    `${source} ${JSON.stringify(address)} is not a Docker daemon address this connector can use: expected unix:///path/to/docker.sock or tcp://host:port.`,
  );
}
