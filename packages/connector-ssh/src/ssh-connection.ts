import type { Readable, Writable } from 'node:stream';
import {
  type CommandOutput,
  type CommandStdin,
  CommandTimeoutError,
  InfraError,
  OutputCollector,
  type OutputLine,
} from '@infra/core';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
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

export interface ExecOptions {
  readonly getPty?: boolean;
  /** With `getPty`: the terminal does not echo stdin (it starts with a sudo password). */
  readonly ptyNoEcho?: boolean;
  readonly stdin?: CommandStdin;
  /** Seconds. */
  readonly timeout?: number;
  readonly signal?: AbortSignal;
  readonly onOutput?: (line: OutputLine) => void;
  /**
   * Send stdout's raw bytes here (binary-safe, with backpressure) instead of
   * collecting lines. The stream is not ended.
   */
  readonly stdout?: Writable;
  /**
   * `su` without a terminal: the command prints `marker` on stderr once su has
   * switched user. Until then stdin is held back and stderr is not output; the
   * first stderr output before it is su's password prompt, answered with
   * `password` on stdin (never when su does not ask, e.g. as root).
   */
  readonly suPrompt?: { readonly marker: string; readonly password: string };
}

/** What ssh2 keeps inside a channel, used to send a signal after stdin was closed. */
interface ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
}

/**
 * Send a signal request on a session channel. ssh2's `channel.signal()` does
 * nothing once our side has sent EOF (every command without stdin), so this
 * sends the same request through its protocol object while the channel is open.
 * sshd delivers it to the command's process group.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internals = channel as unknown as ChannelInternals;
  const id = internals.outgoing?.id;
  const signal = internals._client?._protocol?.signal;
  try {
    if (
      id !== undefined &&
      (internals.outgoing?.state === 'open' || internals.outgoing?.state === 'eof') &&
      signal
    ) {
      signal.call(internals._client!._protocol, id, name);
    } else {
      channel.signal(name);
    }
  } catch {
    // the channel is already closing
  }
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

  /** Run `open` for a channel once a slot is free; adopt the server's lower limit when it refuses. */
  async #openChannel<T>(
    what: string,
    open: (callback: (error: Error | undefined, channel: T) => void) => void,
  ): Promise<T> {
    for (let refusedIdle = 0; ; ) {
      if (this.#closed)
        throw new SshConnectionLostError(
          `the connection to ${describeEndpoint(this.endpoint)} is closed`,
        );
      await this.limiter.acquire();
      try {
        return await new Promise<T>((resolve, reject) => {
          open((error, channel) => (error ? reject(error) : resolve(channel)));
        });
      } catch (error) {
        this.limiter.release();
        const refused = (error as { reason?: unknown }).reason === 2;
        if (refused && this.limiter.active > 0) {
          // The server's MaxSessions is lower than ssh_max_channels: wait for a channel to close.
          this.limiter.lowerTo(this.limiter.active);
          continue;
        }
        if (refused && refusedIdle++ < 5) {
          // Refused with nothing open on our side: the server is still closing a channel.
          await new Promise((resolve) => setTimeout(resolve, 20 * refusedIdle));
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

  /**
   * Run one command on a channel. `display` is the masked command for messages.
   * Output is streamed line by line to `onOutput`; the exit code, or the signal
   * that killed it, comes back with the lines.
   */
  async exec(raw: string, display: string, options: ExecOptions = {}): Promise<CommandOutput> {
    options.signal?.throwIfAborted();
    const collector = new OutputCollector(options.onOutput);
    // What the channel reports, recorded from the moment it opens: ssh2 can deliver
    // the output, exit status and close in the same tick as the open confirmation.
    const state: {
      exitCode: number | null;
      signal: string | null;
      closed: boolean;
      error: Error | undefined;
      wake: (() => void) | undefined;
    } = { exitCode: null, signal: null, closed: false, error: undefined, wake: undefined };
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.limiter.release();
    };
    const stdout = options.stdout;
    const onStdoutError = (error: Error) => {
      state.error ??= error;
      state.wake?.();
    };
    const suPrompt = options.suPrompt;
    const su: { switched: boolean; onSwitched?: () => void; flush?: () => void } = {
      switched: false,
    };
    const attach = (channel: ClientChannel) => {
      if (stdout) {
        channel.on('data', (chunk: Buffer) => {
          if (stdout.write(chunk)) return;
          // The destination is full: stop reading, so ssh2 stops opening the window.
          channel.pause();
          stdout.once('drain', () => channel.resume());
        });
        stdout.once('error', onStdoutError);
      } else {
        channel.on('data', (chunk: Buffer) => collector.stdout.push(chunk));
      }
      if (suPrompt) {
        const marker = Buffer.from(`${suPrompt.marker}\n`);
        let pending = Buffer.alloc(0);
        let answered = false;
        channel.stderr.on('data', (chunk: Buffer) => {
          if (su.switched) {
            collector.stderr.push(chunk);
            return;
          }
          pending = Buffer.concat([pending, chunk]);
          const at = pending.indexOf(marker);
          if (at !== -1) {
            // su's prompt (and nothing of the command's) comes before the marker.
            su.switched = true;
            const rest = pending.subarray(at + marker.length);
            pending = Buffer.alloc(0);
            if (rest.length > 0) collector.stderr.push(rest);
            su.onSwitched?.();
          } else if (!answered && !marker.subarray(0, pending.length).equals(pending)) {
            // Not the start of the marker: su is asking for its password.
            answered = true;
            channel.write(`${suPrompt.password}\n`);
          }
        });
        su.flush = () => {
          // su gave up (a wrong password): its messages are the command's stderr.
          if (!su.switched && pending.length > 0) collector.stderr.push(pending);
          pending = Buffer.alloc(0);
        };
      } else {
        channel.stderr.on('data', (chunk: Buffer) => collector.stderr.push(chunk));
      }
      channel.on('exit', (code: number | null, signalName?: string) => {
        state.exitCode = code;
        state.signal = signalName ?? null;
      });
      channel.once('close', () => {
        su.flush?.();
        state.closed = true;
        release(); // the slot is free once the server has closed the channel
        state.wake?.();
      });
      channel.on('error', (error: Error) => {
        state.error ??= error;
        state.wake?.();
      });
    };
    const channel = await this.#openChannel<ClientChannel>(display, (callback) =>
      this.client.exec(
        raw,
        options.getPty
          ? {
              pty: {
                term: 'dumb',
                rows: 24,
                cols: 200,
                ...(options.ptyNoEcho ? { modes: { ECHO: 0 } } : {}),
              },
            }
          : {},
        (error, opened) => {
          if (!error) attach(opened);
          callback(error, opened);
        },
      ),
    );
    const stopWatching = this.onLost(release);
    try {
      return await new Promise<CommandOutput>((resolve, reject) => {
        let settled = false;
        const cleanups: (() => void)[] = [];
        const settle = (error?: Error) => {
          if (settled) return;
          settled = true;
          for (const cleanup of cleanups) cleanup();
          if (error) {
            channel.destroy();
            reject(error);
          } else {
            resolve(collector.finish(state.exitCode, state.signal));
          }
        };
        const kill = (error: Error) => {
          sendSignal(channel, 'KILL');
          settle(error);
        };
        state.wake = () => settle(state.error);
        if (state.closed || state.error) {
          settle(state.error);
          return;
        }
        cleanups.push(
          this.onLost((error) =>
            settle(
              new SshConnectionLostError(`${error.message} while running: ${display}`, {
                cause: error,
              }),
            ),
          ),
        );
        if (options.timeout !== undefined && options.timeout > 0) {
          const timer = setTimeout(
            () => kill(new CommandTimeoutError(display, options.timeout!)),
            options.timeout * 1000,
          );
          cleanups.push(() => clearTimeout(timer));
        }
        if (options.signal) {
          const onAbort = () =>
            kill(new InfraError('COMMAND_ABORTED', `Command was aborted and killed: ${display}`));
          options.signal.addEventListener('abort', onAbort, { once: true });
          cleanups.push(() => options.signal?.removeEventListener('abort', onAbort));
        }
        const stdin = options.stdin;
        const sendStdin = () => {
          if (stdin === undefined) {
            channel.end();
          } else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
            channel.end(stdin);
          } else {
            const source = stdin as Readable;
            source.on('error', (error) => kill(error));
            source.pipe(channel);
          }
        };
        if (!suPrompt || su.switched) {
          sendStdin();
        } else {
          su.onSwitched = sendStdin;
          // su refused: a stdin stream that was never sent is not left open.
          cleanups.push(() => {
            if (
              !su.switched &&
              stdin !== undefined &&
              typeof stdin !== 'string' &&
              !Buffer.isBuffer(stdin)
            )
              (stdin as Readable).destroy();
          });
        }
      });
    } finally {
      stopWatching();
      stdout?.removeListener('error', onStdoutError);
      if (this.#closed) release();
    }
  }

  /** Open an SFTP session on a channel of its own; `end()` it when done. */
  async sftp(what: string): Promise<{ sftp: SFTPWrapper; end: () => void }> {
    // The slot is free once the server has closed the channel, not when we ask it to.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.limiter.release();
    };
    const sftp = await this.#openChannel<SFTPWrapper>(what, (callback) =>
      this.client.sftp((error, opened) => {
        if (!error) opened.once('close', release);
        callback(error, opened);
      }),
    );
    this.onLost(release);
    return { sftp, end: () => sftp.end() };
  }
}
