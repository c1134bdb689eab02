import { Agent, type AgentOptions, type ClientRequest, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { ConnectError, type Connector, type ConnectorHost } from '@infra/core';
import Docker, { type DockerOptions } from 'dockerode';
import type { DockerDaemonAddress } from './docker-host.js';

/**
 * What docker-modem would otherwise take from `DOCKER_HOST` and `DOCKER_CERT_PATH`
 * (it starts every client from them): the address resolved here replaces all of it.
 */
const NO_ENVIRONMENT_DEFAULTS = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  username: undefined,
  password: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
  pathPrefix: undefined,
  timeout: undefined,
  sshOptions: undefined,
  agent: undefined,
} as const;

type SocketOpener = Required<Pick<Connector, 'openUnixSocket'>>;

/** What a `net.Socket` has and a stream to another host's socket need not. */
interface SocketLike {
  setKeepAlive?: unknown;
  ref?: unknown;
}

/**
 * An HTTP agent whose every connection is a stream to a unix socket on another
 * host (`openUnixSocket` of the connector this one runs through). Connections are
 * kept alive between API calls, as Node's own agent keeps the local socket's
 * (a stream need not be a `net.Socket`: what only sockets have is skipped); the
 * hijacked exec and attach streams leave the pool, as they do locally.
 */
export class UnixSocketAgent extends Agent {
  readonly #opener: SocketOpener;
  readonly #path: string;

  constructor(opener: SocketOpener, path: string, options: AgentOptions = {}) {
    super({ keepAlive: true, ...options });
    this.#opener = opener;
    this.#path = path;
  }

  override createConnection(
    _options: ClientRequestArgs,
    callback?: (error: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    this.#opener.openUnixSocket(this.#path).then(
      (stream) => callback?.(null, stream),
      (error: Error) => callback?.(error, undefined as unknown as Duplex),
    );
    return undefined;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    if (typeof (socket as SocketLike).setKeepAlive === 'function') {
      return (super.keepSocketAlive as (socket: Duplex) => boolean)(socket);
    }
    return true;
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    if (typeof (socket as SocketLike).ref === 'function') super.reuseSocket(socket, request);
    else (request as { reusedSocket: boolean }).reusedSocket = true;
  }
}

/**
 * The dockerode client for the daemon: its unix socket, tcp address, or (for an
 * `ssh://` address) its socket on the host this one runs through, `host.via`,
 * which the run connects first (`ConnectorClass.viaOf` names it).
 */
export function daemonClient(host: ConnectorHost<unknown>, daemon: DockerDaemonAddress): Docker {
  if (daemon.ssh === undefined) return directDaemonClient(daemon);
  const via = host.via;
  if (via?.openUnixSocket === undefined) {
    throw new ConnectError(
      host.name,
      `${daemon.source} ${daemon.description} reaches the daemon over ssh, through the @ssh connection the run opens for it, but this host was given ${via ? 'a host to run through that cannot open unix sockets' : 'none'}. Run it with the infra CLI or @infra/deploy, or (as a library) connect an @infra/connector-ssh SshConnector to that host and pass it as the ConnectorHost's via.`,
    );
  }
  const opener: SocketOpener = { openUnixSocket: via.openUnixSocket.bind(via) };
  return new Docker({
    ...NO_ENVIRONMENT_DEFAULTS,
    protocol: 'http',
    agent: new UnixSocketAgent(opener, daemon.ssh.socketPath),
  } as DockerOptions);
}

/** The dockerode client for a daemon this process reaches itself (a unix socket, tcp). */
export function directDaemonClient(daemon: DockerDaemonAddress): Docker {
  return new Docker({ ...NO_ENVIRONMENT_DEFAULTS, ...daemon.options } as DockerOptions);
}
