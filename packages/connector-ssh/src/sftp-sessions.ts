import { posix } from 'node:path';
import { randomHex } from '@infra/connector-utils';
import { SftpSession } from './sftp-session.js';
import { sftpNewFileMode } from './sftp-transfer.js';
import type { SshConnection } from './ssh-connection.js';
import { removeStaleTemps } from './stale-temps.js';

function tempSuffix(): string {
  return randomHex(8);
}

/** What the SSH connector keeps per connection for SFTP: sessions, swept directories, the umask. */
export class SftpSessions {
  /** A new file's mode under each connection's SFTP umask. */
  readonly #newFileModes = new WeakMap<SshConnection, number>();
  /** The directories each connection has looked for stale temporary files in. */
  readonly #swept = new WeakMap<SshConnection, Set<string>>();

  /**
   * Remove the stale temporary files beside `ownTemp` (just created) that match
   * `isTemp`, once per directory and connection: what a lost connection left
   * is gone after the first put there, and later puts pay nothing.
   */
  sweepOnce(
    connection: SshConnection,
    session: SftpSession,
    ownTemp: string,
    isTemp: (name: string) => boolean,
  ): Promise<unknown> {
    const dir = posix.dirname(ownTemp);
    const swept = this.#swept.get(connection) ?? new Set<string>();
    this.#swept.set(connection, swept);
    if (swept.has(dir)) return Promise.resolve();
    swept.add(dir);
    return removeStaleTemps(session, ownTemp, isTemp);
  }

  /** The mode a new file gets from this connection's SFTP server (its umask), learnt once. */
  async newFileMode(connection: SshConnection, session: SftpSession, dir: string): Promise<number> {
    let mode = this.#newFileModes.get(connection);
    if (mode === undefined) {
      mode = await sftpNewFileMode(session, posix.join(dir, `.infra-umask-${tempSuffix()}`));
      this.#newFileModes.set(connection, mode);
    }
    return mode;
  }

  /**
   * An SFTP session on its own channel whose requests all fail at once when the
   * channel or the connection is lost; `end()` it when done.
   */
  async open(
    connection: SshConnection,
    what: string,
    label: string,
  ): Promise<SftpSession & { end: () => void }> {
    const opened = await connection.sftp(what);
    const session = new SftpSession(opened.sftp, label);
    const stopWatching = connection.onLost((error) => session.lose(error));
    return Object.assign(session, {
      end: () => {
        stopWatching();
        opened.end();
      },
    });
  }
}
