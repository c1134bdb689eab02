import type { Readable } from 'node:stream';
import { sleep } from '@infra/connector-utils';
import type { Client } from 'ssh2';
import type { HandshakeLimiter } from './handshake-limiter.js';
import type { SshConnectionOptions, SshEndpoint, SshLogin } from './ssh-connection.js';
import { login, proxyCommandStream, SshHandshakeError, tcpConnect } from './ssh-login.js';

/** The stream a login runs over, and how to get rid of it when the login fails. */
export interface Transport {
  readonly sock: Readable;
  dispose(): void;
}

/**
 * Retries for failures before authentication (sshd's `MaxStartups` drops, resets,
 * a handshake starved by a busy controller): always on, apart from the user's
 * `ssh_connect_retries`. Delays grow from `minDelayMs` to `maxDelayMs`, each a
 * random fraction of that ("full jitter"), so dropped attempts do not return together.
 */
export interface PreAuthRetryPolicy {
  /** Extra attempts after a dropped or reset handshake. */
  readonly retries: number;
  /** Of those, how many may follow a handshake timeout (a silent host costs a timeout each). */
  readonly timeoutRetries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_PRE_AUTH_RETRY: PreAuthRetryPolicy = {
  retries: 8,
  timeoutRetries: 1,
  minDelayMs: 100,
  maxDelayMs: 2000,
};

/** `host:port`, the key of the per-server handshake limit. */
export function serverKey(endpoint: SshEndpoint): string {
  return `${endpoint.host}:${endpoint.port}`;
}

/** The stream to the route's first server: the proxy command, or a TCP connection. */
export async function firstHopTransport(options: SshConnectionOptions): Promise<Transport> {
  if (options.proxyCommand !== undefined) {
    const { stream, child } = proxyCommandStream(options.proxyCommand);
    return {
      sock: stream,
      dispose: () => {
        stream.destroy();
        if (child.exitCode === null) child.kill();
      },
    };
  }
  const first = (options.jumps[0] ?? options.login).endpoint;
  const socket = await tcpConnect(first.host, first.port, options.connectTimeoutMs);
  return { sock: socket, dispose: () => socket.destroy() };
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** A failure before authentication that another attempt may get past. */
export function isPreAuthFailure(error: unknown): boolean {
  if (error instanceof SshHandshakeError) return true;
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RESET_CODES.has(code);
}

export interface DialRequest {
  /** The server's `host:port`, for the per-server handshake limit. */
  readonly server: string;
  readonly target: SshLogin;
  readonly options: SshConnectionOptions;
  /** Open the stream to log in over. */
  readonly transport: () => Promise<Transport>;
  /**
   * True when opening the transport starts a connection to the server (TCP, a
   * proxy command), so it counts against the handshake limit; false when it is a
   * channel of a connection already open (a jump host).
   */
  readonly transportInSlot: boolean;
  readonly limiter: HandshakeLimiter;
  readonly retry?: PreAuthRetryPolicy;
  /** Told about each retry (for debug logs). */
  readonly onRetry?: (message: string) => void;
  /** Random number in [0, 1) for the jitter. */
  readonly random?: () => number;
}

/**
 * Open the transport and log in, holding a handshake slot while the server has
 * an unauthenticated connection from us; retry failures before authentication
 * with jittered backoff. Authentication failures and host key refusals are never retried.
 */
export async function dialAndLogin(
  request: DialRequest,
): Promise<{ client: Client; transport: Transport }> {
  const policy = request.retry ?? DEFAULT_PRE_AUTH_RETRY;
  const random = request.random ?? Math.random;
  let ceiling = policy.minDelayMs;
  for (let attempt = 0, timeouts = 0; ; attempt++) {
    let transport: Transport | undefined;
    let release: (() => void) | undefined;
    try {
      if (!request.transportInSlot) transport = await request.transport();
      release = await request.limiter.acquire(request.server);
      transport ??= await request.transport();
      const client = await login(transport.sock, request.target, request.options);
      request.limiter.succeeded(request.server);
      return { client, transport };
    } catch (error) {
      transport?.dispose();
      const timedOut = error instanceof SshHandshakeError && error.timedOut;
      if (timedOut) timeouts++;
      else if (release && isPreAuthFailure(error)) request.limiter.dropped(request.server);
      if (
        !isPreAuthFailure(error) ||
        attempt >= policy.retries ||
        (timedOut && timeouts > policy.timeoutRetries)
      ) {
        throw error;
      }
      release?.();
      release = undefined;
      const delay = Math.round(ceiling * random());
      request.onRetry?.(
        `${(error as Error).message}: before authentication, trying again in ${delay} ms (${attempt + 1} of ${policy.retries})`,
      );
      await sleep(delay / 1000);
      ceiling = Math.min(policy.maxDelayMs, ceiling * 2);
    } finally {
      release?.();
    }
  }
}
