import { sleep, untilAborted } from '@infra/connector-utils';
import { InfraError } from '@infra/core';
import type { Client, SFTPWrapper } from 'ssh2';
import { ChannelLimiter } from './channel-limiter.js';
import { type HandshakeLimiter, sharedHandshakeLimiter } from './handshake-limiter.js';
import { type JumpHostPool, sharedJumpHostPool } from './jump-pool.js';
import type { HostKeyPolicy } from './known-hosts.js';
import type { AuthAttempt } from './ssh-auth.js';
import { dialAndLogin, firstHopTransport, serverKey, type Transport } from './ssh-dial.js';
import { describeEndpoint } from './ssh-login.js';

export { describeEndpoint } from './ssh-login.js';

/** The connection to the host went away while a command or transfer was using it. */
export class SshConnectionLostError extends InfraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SSH_CONNECTION_LOST', message, options);
  }
}

/** An SSH server to log in to: where, and as whom. */
export interface SshEndpoint {
  readonly host: string;
  readonly port: number;
  readonly username: string;
}

/** Everything needed to log in to one endpoint. */
export interface SshLogin {
  readonly endpoint: SshEndpoint;
  readonly hostKeyPolicy: HostKeyPolicy;
  readonly attempts: readonly AuthAttempt[];
  /** Problems with keys that were skipped, added to a failed login's message. */
  readonly problems: readonly string[];
}

export interface SshConnectionOptions {
  /** Where loud warnings go (a changed host key accepted under `ssh_strict_host_key_checking: no`). */
  readonly onWarning?: (message: string) => void;
  /** The target, then how to reach it. */
  readonly login: SshLogin;
  /** Jump hosts, first to last (ProxyJump). */
  readonly jumps: readonly SshLogin[];
  /** A command whose stdin/stdout is the connection (ProxyCommand), already expanded. */
  readonly proxyCommand?: string;
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly agentForward: boolean;
  readonly agentSocket?: string;
  readonly maxChannels: number;
  /** Targets sharing one connection to a jump host; past it another connection is opened. */
  readonly jumpMaxChannels: number;
}

/** Where a connection takes its handshake slots and jump host connections (process-wide by default). */
export interface SshOpenContext {
  readonly limiter?: HandshakeLimiter;
  readonly jumpPool?: JumpHostPool;
  /** Told about each retried handshake (for debug logs). */
  readonly onRetry?: (message: string) => void;
}

/**
 * One SSH connection to a host: commands run on channels of it, at most
 * `maxChannels` at once (the rest wait), SFTP sessions likewise.
 */
export class SshConnection {
  readonly client: Client;
  readonly limiter: ChannelLimiter;
  readonly endpoint: SshEndpoint;
  readonly #transport: Transport;
  readonly #onLost = new Set<(error: SshConnectionLostError) => void>();
  #closed = false;
  #closedByUs = false;

  private constructor(
    client: Client,
    endpoint: SshEndpoint,
    maxChannels: number,
    transport: Transport,
  ) {
    this.client = client;
    this.endpoint = endpoint;
    this.limiter = new ChannelLimiter(maxChannels);
    this.#transport = transport;
    const lost = (reason: string) => {
      if (this.#closed) return;
      this.#closed = true;
      if (this.#onLost.size > 0) {
        // Only built when someone listens: a closed connection usually has no one waiting.
        const error = new SshConnectionLostError(
          `the connection to ${describeEndpoint(endpoint)} ${reason}`,
        );
        for (const listener of [...this.#onLost]) listener(error);
        this.#onLost.clear();
      }
      this.#cleanupTransport();
    };
    client.on('error', (error) => lost(`failed: ${error.message}`));
    client.on('close', () => lost(this.#closedByUs ? 'was closed' : 'dropped'));
  }

  /**
   * Open the transport (TCP, a channel of a shared jump host connection, or a
   * proxy command), check the host key, log in. Handshakes wait for a slot of the
   * process-wide limiter; failures before authentication are retried.
   */
  static async open(
    options: SshConnectionOptions,
    context: SshOpenContext = {},
  ): Promise<SshConnection> {
    const limiter = context.limiter ?? sharedHandshakeLimiter();
    const pool = context.jumpPool ?? sharedJumpHostPool();
    const target = options.login;
    const hops = options.jumps.length;
    const request = {
      server: serverKey(target.endpoint),
      target,
      options,
      limiter,
      // The TCP connection (or the channel through the jump host) is what the server
      // counts against its MaxStartups: opened once the handshake slot is ours.
      transportInSlot: true,
      ...(context.onRetry ? { onRetry: context.onRetry } : {}),
    };
    let dialed: Awaited<ReturnType<typeof dialAndLogin>>;
    if (hops === 0) {
      dialed = await dialAndLogin({ ...request, transport: () => firstHopTransport(options) });
    } else {
      // Log in to the jump host (or find its connection) before waiting for a slot.
      const reservation = await pool.reserve(options, hops, context.onRetry);
      try {
        dialed = await dialAndLogin({
          ...request,
          transport: async () => {
            const lease = await reservation.forward(target.endpoint);
            return { sock: lease.channel, dispose: lease.release };
          },
        });
      } finally {
        reservation.release();
      }
    }
    const { client, transport } = dialed;
    return new SshConnection(client, target.endpoint, options.maxChannels, transport);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called once when the connection is gone (dropped, failed or closed). */
  onLost(listener: (error: SshConnectionLostError) => void): () => void {
    if (this.#closed) {
      listener(
        new SshConnectionLostError(
          `the connection to ${describeEndpoint(this.endpoint)} is closed`,
        ),
      );
      return () => {};
    }
    this.#onLost.add(listener);
    return () => this.#onLost.delete(listener);
  }

  #cleanupTransport(): void {
    this.#transport.dispose();
  }

  close(): void {
    if (this.#closed) return;
    this.#closedByUs = true;
    this.client.end();
    // end() waits for the server; make sure the hops and proxy go too.
    this.#cleanupTransport();
  }

  /**
   * Run `open` for a channel once a slot is free (`first`: before the channels
   * already waiting); adopt the server's lower limit when it refuses. The caller releases the slot (`limiter.release()`) once the
   * server has closed the channel. `signal`: stop waiting, for a slot or for the
   * server to open the channel, when it aborts (rejecting with its reason); a
   * channel the server opens after that is given to `discard`, which closes it
   * (its close frees the slot).
   */
  async openChannel<T>(
    what: string,
    open: (callback: (error: Error | undefined, channel: T) => void) => void,
    options: {
      first?: boolean | undefined;
      signal?: AbortSignal | undefined;
      discard?: ((channel: T) => void) | undefined;
    } = {},
  ): Promise<T> {
    for (let refusedIdle = 0; ; ) {
      if (this.#closed)
        throw new SshConnectionLostError(
          `the connection to ${describeEndpoint(this.endpoint)} is closed`,
        );
      await this.limiter.acquire(options.first, options.signal);
      const opening = new Promise<T>((resolve, reject) => {
        open((error, channel) => (error ? reject(error) : resolve(channel)));
      });
      try {
        return await untilAborted(opening, options.signal);
      } catch (error) {
        const { signal } = options;
        if (signal?.aborted && error === signal.reason) {
          // Stopped while the server opens it (a stalled server): nobody wants it now.
          opening.then(
            (late) => options.discard?.(late),
            () => this.limiter.release(),
          );
          throw error;
        }
        this.limiter.release();
        const refused = (error as { reason?: unknown }).reason === 2;
        if (refused && this.limiter.active > 0) {
          // The server's MaxSessions is lower than ssh_max_channels: wait for a channel to close.
          this.limiter.lowerTo(this.limiter.active);
          continue;
        }
        if (refused && refusedIdle++ < 5) {
          // Refused with nothing open on our side: the server is still closing a channel.
          await sleep(0.02 * refusedIdle, options.signal);
          continue;
        }
        if (this.#closed) {
          throw new SshConnectionLostError(
            `the connection to ${describeEndpoint(this.endpoint)} dropped while opening a channel for ${what}`,
            { cause: error },
          );
        }
        throw new InfraError(
          'SSH_CHANNEL_FAILED',
          `could not open a channel for ${what} on ${describeEndpoint(this.endpoint)}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
  }

  /** Open an SFTP session on a channel of its own (`signal`: stop waiting for a slot); `end()` it when done. */
  async sftp(what: string, signal?: AbortSignal): Promise<{ sftp: SFTPWrapper; end: () => void }> {
    // The slot is free once the server has closed the channel, not when we ask it to.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.limiter.release();
    };
    const sftp = await this.openChannel<SFTPWrapper>(
      what,
      (callback) =>
        this.client.sftp((error, opened) => {
          if (!error) opened.once('close', release);
          callback(error, opened);
        }),
      { signal, discard: (late) => late.end() },
    );
    this.onLost(release);
    return { sftp, end: () => sftp.end() };
  }
}
