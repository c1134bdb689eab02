import { posix } from 'node:path';
import type { SftpSession } from './sftp-session.js';
import { sftpReaddir, sftpUnlink } from './sftp-transfer.js';

/**
 * A temporary file untouched for this long was left by a transfer whose
 * connection was lost (one that is still running writes to it all the time).
 */
export const STALE_TEMP_SECONDS = 60;

/**
 * Remove the temporary files in the directory of `ownTemp` whose names match
 * `isTemp` and that were last modified STALE_TEMP_SECONDS before `ownTemp` (the
 * fresh temporary file of the transfer running now, which gives the server's
 * clock). Best effort: resolves with the paths removed, never rejects.
 */
export async function removeStaleTemps(
  session: SftpSession,
  ownTemp: string,
  isTemp: (name: string) => boolean,
): Promise<string[]> {
  const dir = posix.dirname(ownTemp);
  try {
    const entries = await sftpReaddir(session, dir);
    const now = entries.find((entry) => entry.filename === posix.basename(ownTemp))?.attrs.mtime;
    if (now === undefined) return [];
    const stale = entries.filter(
      (entry) =>
        isTemp(entry.filename) &&
        entry.filename !== posix.basename(ownTemp) &&
        entry.attrs.isFile() &&
        entry.attrs.mtime < now - STALE_TEMP_SECONDS,
    );
    const removed: string[] = [];
    await Promise.all(
      stale.map(async (entry) => {
        const path = posix.join(dir, entry.filename);
        await sftpUnlink(session, path).then(
          () => removed.push(path),
          () => undefined,
        );
      }),
    );
    return removed;
  } catch {
    return [];
  }
}
