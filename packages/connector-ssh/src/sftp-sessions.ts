import { posix } from 'node:path';
import { randomHex, settlesWithin } from '@infra/connector-utils';
import { SftpSession } from './sftp-session.js';
import { sftpNewFileMode, sftpUnlink } from './sftp-transfer.js';
import type { SshConnection } from './ssh-connection.js';
import { removeStaleTemps } from './stale-temps.js';

/** How long (seconds) a stopped put waits for the server to remove its temporary file. */
export const TEMP_CLEANUP_SECONDS = 2;

function tempSuffix(): string {
  return randomHex(8);
}

/** What the SSH connector keeps per connection for SFTP: sessions, swept directories, the umask. */
export class SftpSessions {
  /** A new file's mode under each connection's SFTP umask. */
  readonly #newFileModes = new WeakMap<SshConnection, number>();
  /** The directories each connection has looked for stale temporary files in. */
  readonly #swept = new WeakMap<SshConnection, Set<string>>();
  /** Temporary files of failed puts whose removal the server did not answer in time. */
  readonly #leftovers = new Set<string>();

  /**
   * Remove `temp`, the temporary file of a put that failed, waiting at most
   * TEMP_CLEANUP_SECONDS for the server: when it does not answer by then (a stalled
   * server), the path is kept and the next put of this connector removes it
   * (`removeLeftovers`). A server that gets to the request later removes it too.
   */
  async removeTemp(session: SftpSession, temp: string): Promise<void> {
    // Refused or lost counts as answered: a lost connection's temps are the sweep's.
    const answered = await settlesWithin(sftpUnlink(session, temp), TEMP_CLEANUP_SECONDS);
    if (!answered) this.#leftovers.add(temp);
  }

  /**
   * Ask for the removal of the temporary files earlier puts could not remove;
   * resolves once the server answered (never rejects). A path stays listed until
   * its removal is answered.
   */
  removeLeftovers(session: SftpSession): Promise<unknown> {
    return Promise.all(
      [...this.#leftovers].map((path) =>
        sftpUnlink(session, path).then(
          () => this.#leftovers.delete(path),
          () => {
            if (!session.lostSignal.aborted) this.#leftovers.delete(path);
          },
        ),
      ),
    );
  }

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
   * channel or the connection is lost; `end()` it when done. `signal`: stop
   * waiting for a free channel when it aborts.
   */
  async open(
    connection: SshConnection,
    what: string,
    label: string,
    signal?: AbortSignal,
  ): Promise<SftpSession & { end: () => void }> {
    const opened = await connection.sftp(what, signal);
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
