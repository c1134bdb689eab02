import type { RawCommand, RawCommandIo, RawExit } from '@infra/core';
import { CommandSession } from './command-session.js';
import { fitsCommandSession } from './command-session-script.js';
import type { SshConnection } from './ssh-connection.js';

/**
 * A host's command session (at most one, on its live connection): opened by the
 * first command that fits it, used by each next one while idle, replaced when it
 * was discarded (an abort, a drop) or the connection changed. A command that does
 * not fit, or finds it busy, goes on an exec channel.
 */
export class CommandSessionHolder {
  #session: CommandSession | undefined;
  /** Connections whose host has no `setsid`: exec channels only. */
  readonly #unsupported = new WeakSet<SshConnection>();

  /** Run `command` in the session; undefined: it did not run, use an exec channel. */
  async run(
    connection: SshConnection,
    command: RawCommand,
    io: RawCommandIo,
  ): Promise<RawExit | undefined> {
    if (!fitsCommandSession(command)) return undefined;
    let session = this.#session;
    if (session && (session.connection !== connection || session.discarded)) {
      session = this.#session = undefined;
    }
    if (session) {
      if (!session.claim()) return undefined;
    } else {
      if (this.#unsupported.has(connection)) return undefined;
      session = CommandSession.open(connection);
      if (!session) return undefined;
      this.#session = session;
    }
    const exit = await session.run(command, io);
    if (session.unsupported) this.#unsupported.add(connection);
    return exit;
  }

  /** Close the session (its sh exits at the end of its stdin). */
  close(): void {
    this.#session?.close();
    this.#session = undefined;
  }
}
