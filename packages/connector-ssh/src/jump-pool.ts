import type { Client, ClientChannel } from 'ssh2';
import { HandshakeLimiter, sharedHandshakeLimiter } from './handshake-limiter.js';
import type { SshConnectionOptions, SshEndpoint } from './ssh-connection.js';
import { dialAndLogin, firstHopTransport, serverKey, type Transport } from './ssh-dial.js';
import { describeEndpoint, forwardOut } from './ssh-login.js';

/** A `direct-tcpip` channel through a jump host; `release()` once the connection over it is done. */
export interface HopChannel {
  readonly channel: ClientChannel;
  release(): void;
}

/** A channel slot taken on a logged-in connection to a hop, before the channel is opened. */
export interface HopReservation {
  /** Open the channel on the slot (on another, for a second call after a failed attempt). */
  forward(destination: SshEndpoint): Promise<HopChannel>;
  /** Give the slot back unless a channel holds it. */
  release(): void;
}

/** For a hop's handshake started by a caller that holds a handshake slot already. */
const UNLIMITED = new HandshakeLimiter({
  total: Number.MAX_SAFE_INTEGER,
  perServer: Number.MAX_SAFE_INTEGER,
});

/** One logged-in connection to a jump host, shared by the targets behind it. */
interface HopConnection {
  readonly key: string;
  readonly ready: Promise<Client>;
  /** Channels open or being opened on it. */
  channels: number;
  /** The most channels it takes (lowered when the server refuses one). */
  limit: number;
  closed: boolean;
  client?: Client;
  transport?: Transport;
}

/** What makes two routes' first `depth` hops the same connection. */
export function routeKey(options: SshConnectionOptions, depth: number): string {
  const parts = [options.proxyCommand ?? ''];
  for (const hop of options.jumps.slice(0, depth)) {
    const policy = hop.hostKeyPolicy;
    parts.push(
      [
        describeEndpoint(hop.endpoint),
        policy.strict,
        policy.files.join(':'),
        hop.attempts.map((attempt) => attempt.label).join(','),
      ].join('|'),
    );
  }
  parts.push(options.agentForward && options.agentSocket ? options.agentSocket : '');
  return parts.join('\n');
}

/** ssh2's reason codes for a refused channel that mean "no more channels here". */
const CHANNELS_EXHAUSTED = new Set([1, 4]); // administratively prohibited, resource shortage

/**
 * The connections to jump hosts of one process: every target behind the same
 * hop (same route, user, keys and known_hosts) gets a `direct-tcpip` channel on
 * one connection to it, up to `jumpMaxChannels` channels (or fewer, when the hop
 * refuses one), then a second connection is opened. A hop's connection is closed
 * when its last channel is released. Chained hops share their own hops likewise.
 */
export class JumpHostPool {
  readonly #limiter: HandshakeLimiter;
  readonly #byKey = new Map<string, HopConnection[]>();
  /** Connections opened to hops since the pool was made. */
  opened = 0;

  constructor(limiter: HandshakeLimiter) {
    this.#limiter = limiter;
  }

  /** Connections open (or opening) to hops now. */
  get size(): number {
    let count = 0;
    for (const list of this.#byKey.values()) count += list.length;
    return count;
  }

  /**
   * Take a channel slot on a logged-in connection to the route's hop `depth`
   * (logging in first when no connection has a free slot). Call this before
   * waiting for a handshake slot of the target: the hop's own handshake may need one.
   */
  async reserve(
    options: SshConnectionOptions,
    depth: number,
    onRetry?: (message: string) => void,
  ): Promise<HopReservation> {
    const key = routeKey(options, depth);
    let hop = this.#reserve(key, options, depth, this.#limiter, onRetry);
    let client = await this.#ready(hop);
    let held = true;
    return {
      forward: async (destination) => {
        for (;;) {
          if (!held) {
            // Another attempt, or the connection was full: its own handshake is not held
            // back by the limiter, as the caller holds a handshake slot already.
            hop = this.#reserve(key, options, depth, UNLIMITED, onRetry);
            client = await this.#ready(hop);
          }
          held = false; // the slot is the channel's now, or given back below
          let channel: ClientChannel;
          try {
            channel = await forwardOut(client, destination.host, destination.port);
          } catch (error) {
            const reason = (error as { reason?: unknown }).reason;
            if (typeof reason === 'number' && CHANNELS_EXHAUSTED.has(reason) && hop.channels > 1) {
              // This connection is full: this target and the next get another one.
              hop.limit = Math.min(hop.limit, hop.channels - 1);
              this.#drop(hop);
              continue;
            }
            this.#drop(hop);
            throw error;
          }
          const owner = hop;
          let released = false;
          return {
            channel,
            release: () => {
              if (released) return;
              released = true;
              channel.destroy();
              this.#drop(owner);
            },
          };
        }
      },
      release: () => {
        if (!held) return;
        held = false;
        this.#drop(hop);
      },
    };
  }

  /** A channel to `destination` through the first `depth` hops of the route. */
  async channelTo(
    options: SshConnectionOptions,
    depth: number,
    destination: SshEndpoint,
    onRetry?: (message: string) => void,
  ): Promise<HopChannel> {
    const reservation = await this.reserve(options, depth, onRetry);
    try {
      return await reservation.forward(destination);
    } finally {
      reservation.release();
    }
  }

  async #ready(hop: HopConnection): Promise<Client> {
    try {
      return await hop.ready;
    } catch (error) {
      hop.channels--;
      throw error;
    }
  }

  /** Give back one channel slot; the connection closes with its last. */
  #drop(hop: HopConnection): void {
    hop.channels--;
    if (hop.channels === 0) this.#close(hop);
  }

  /** A connection to the route's hop `depth` with a free channel, one channel taken. */
  #reserve(
    key: string,
    options: SshConnectionOptions,
    depth: number,
    limiter: HandshakeLimiter,
    onRetry?: (message: string) => void,
  ): HopConnection {
    const list = this.#byKey.get(key) ?? [];
    const free = list.find((hop) => !hop.closed && hop.channels < hop.limit);
    if (free) {
      free.channels++;
      return free;
    }
    const login = options.jumps[depth - 1]!;
    const hop: HopConnection = {
      key,
      channels: 1,
      limit: Math.max(1, options.jumpMaxChannels),
      closed: false,
      ready: dialAndLogin({
        server: serverKey(login.endpoint),
        target: login,
        options,
        limiter,
        transportInSlot: depth === 1,
        transport:
          depth === 1
            ? () => firstHopTransport(options)
            : async () => {
                const upstream = await this.channelTo(options, depth - 1, login.endpoint, onRetry);
                return { sock: upstream.channel, dispose: upstream.release };
              },
        ...(onRetry ? { onRetry } : {}),
      }).then(
        ({ client, transport }) => {
          hop.client = client;
          hop.transport = transport;
          const gone = () => this.#close(hop);
          client.on('close', gone);
          client.on('error', gone);
          if (hop.closed) this.#close(hop, true);
          return client;
        },
        (error: unknown) => {
          this.#close(hop);
          throw error;
        },
      ),
    };
    this.opened++;
    list.push(hop);
    this.#byKey.set(key, list);
    return hop;
  }

  #close(hop: HopConnection, force = false): void {
    if (hop.closed && !force) return;
    hop.closed = true;
    const list = this.#byKey.get(hop.key);
    const at = list?.indexOf(hop) ?? -1;
    if (list && at !== -1) {
      list.splice(at, 1);
      if (list.length === 0) this.#byKey.delete(hop.key);
    }
    hop.client?.end();
    hop.transport?.dispose();
  }
}

let shared: JumpHostPool | undefined;

/** The process-wide pool of jump host connections. */
export function sharedJumpHostPool(): JumpHostPool {
  shared ??= new JumpHostPool(sharedHandshakeLimiter());
  return shared;
}
