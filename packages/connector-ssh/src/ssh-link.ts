import { sleep, untilAborted } from '@infra/connector-utils';
import { ConnectError, type ConnectorHost } from '@infra/core';
import { HostKeyChangedError, HostKeyRejectedError } from './known-hosts.js';
import { SshAuthError } from './ssh-auth.js';
import { SshConfigError } from './ssh-config.js';
import { SshConnection } from './ssh-connection.js';
import type { SshData } from './ssh-data.js';
import { resolveSshSettings, type SshSettings } from './ssh-settings.js';

/** Network errors worth another connection attempt. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'EAI_AGAIN',
]);

function isTransient(error: unknown): boolean {
  if (
    error instanceof SshAuthError ||
    error instanceof HostKeyChangedError ||
    error instanceof HostKeyRejectedError ||
    error instanceof SshConfigError
  ) {
    return false;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  const message = (error as Error).message ?? '';
  return /handshake|timed out|closed the connection|ECONNRESET|Connection lost/i.test(message);
}

/**
 * A host's one SSH connection: its settings resolved once (host data, ssh_config),
 * opened when first needed with `ssh_connect_retries` for transient failures, and
 * opened again when used after a drop.
 */
export class SshLink {
  readonly #host: ConnectorHost<SshData>;
  #connection: SshConnection | undefined;
  #connecting: Promise<SshConnection> | undefined;
  /** Aborted by `close()`: what was being opened until then is closed as soon as it is open. */
  #closing = new AbortController();
  #settings: Promise<SshSettings> | undefined;

  constructor(host: ConnectorHost<SshData>) {
    this.#host = host;
  }

  get #label(): string {
    return this.#host.name;
  }

  #resolveSettings(): Promise<SshSettings> {
    this.#settings ??= resolveSshSettings({
      hostName: this.#host.name,
      data: this.#host.data,
      hostData: this.#host.hostData,
      ...(this.#host.prompt === undefined ? {} : { askPassphrase: this.#host.prompt }),
    }).then((settings) => {
      for (const warning of settings.warnings) this.#host.log.warn(`${this.#label}: ${warning}`);
      return settings;
    });
    // A failed resolution (an unreadable config file) is tried again next time.
    this.#settings.catch(() => {
      this.#settings = undefined;
    });
    return this.#settings;
  }

  async #open(closed: AbortSignal): Promise<SshConnection> {
    let settings: SshSettings;
    try {
      settings = await this.#resolveSettings();
    } catch (error) {
      throw new ConnectError(this.#label, (error as Error).message, { cause: error });
    }
    let delay = settings.retryMinDelayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const connection = await SshConnection.open(
          {
            ...settings.connection,
            onWarning: (message) => this.#host.log.warn(`${this.#label}: ${message}`),
          },
          { onRetry: (retry) => this.#host.log.debug(`${this.#label}: ${retry}`) },
        );
        this.#host.log.debug(
          `${this.#label}: connected to ${connection.endpoint.host}:${connection.endpoint.port}`,
        );
        return connection;
      } catch (error) {
        const message = (error as Error).message;
        if (attempt >= settings.connectRetries || !isTransient(error)) {
          const tries = attempt > 0 ? ` (after ${attempt + 1} attempts)` : '';
          throw new ConnectError(this.#label, `${message}${tries}`, { cause: error });
        }
        this.#host.log.debug(
          `${this.#label}: connect attempt ${attempt + 1} failed (${message}); retrying in ${Math.round(delay)} ms`,
        );
        await sleep(delay / 1000, closed);
        delay = Math.min(settings.retryMaxDelayMs, Math.max(delay * 2, 1));
      }
    }
  }

  /** The live connection, opened (or re-opened after a drop) when needed. */
  live(): Promise<SshConnection> {
    if (this.#connection && !this.#connection.closed) return Promise.resolve(this.#connection);
    this.#connection = undefined;
    if (!this.#connecting) {
      const closed = this.#closing.signal;
      const opening = this.#open(closed);
      // Closed while being opened: nobody waits for it any more, and it is closed once open.
      const connecting = untilAborted(opening, closed);
      this.#connecting = connecting;
      opening.then(
        (connection) => {
          if (closed.aborted) connection.close();
        },
        () => {},
      );
      connecting.then(
        (connection) => {
          if (this.#connecting === connecting) this.#connecting = undefined;
          if (closed.aborted) connection.close();
          else this.#connection = connection;
        },
        () => {
          if (this.#connecting === connecting) this.#connecting = undefined;
        },
      );
    }
    return this.#connecting;
  }

  /**
   * Close the connection. One still being opened is not waited for (a silent
   * server would hold this until `ssh_connect_timeout`, for every retry): its
   * callers get a `ConnectError`, and it is closed as soon as it is open. Idempotent.
   */
  async close(): Promise<void> {
    this.#closing.abort(
      new ConnectError(this.#label, 'the connector was disconnected while connecting'),
    );
    this.#closing = new AbortController();
    this.#connecting = undefined;
    const connection = this.#connection;
    this.#connection = undefined;
    connection?.close();
  }
}
