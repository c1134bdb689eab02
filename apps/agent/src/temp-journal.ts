import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

/** The temporary files the agent writes beside a target: `.NAME.infra-agent-HEX`. */
const AGENT_TEMP = /^\..*\.infra-agent-[0-9a-f]{12}$/s;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Where the agent notes the temporary files it is writing, one small file each
 * under `STATE_DIR/temps/PID/`, removed when the write ends. An agent killed
 * mid-upload (SIGKILL, a crash, the machine going down) leaves its notes behind;
 * the next agent to start with the same state directory removes the temporary
 * files they name, for every agent process no longer alive.
 */
export class TempJournal {
  readonly #dir: string;
  readonly #root: string;
  #made: Promise<void> | undefined;

  constructor(stateDir: string) {
    this.#root = join(stateDir, 'temps');
    this.#dir = join(this.#root, String(process.pid));
  }

  /**
   * Note `tempPath` before it is created; resolves to the function that forgets it
   * again. Best effort: a state directory that cannot be written never fails an
   * upload (its temp file is then only removed by the upload itself).
   */
  async note(tempPath: string): Promise<() => Promise<void>> {
    try {
      this.#made ??= mkdir(this.#dir, { recursive: true, mode: 0o700 }).then(() => undefined);
      await this.#made;
      const entry = join(this.#dir, randomBytes(8).toString('hex'));
      await writeFile(entry, tempPath, { mode: 0o600 });
      return () => unlink(entry).catch(() => {});
    } catch {
      this.#made = undefined;
      return async () => {};
    }
  }

  /**
   * Remove the temporary files noted by agents that are gone (never this one's,
   * nor a running agent's). Resolves to the paths removed.
   */
  async removeStale(): Promise<string[]> {
    const removed: string[] = [];
    const pids = await readdir(this.#root).catch(() => [] as string[]);
    for (const name of pids) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
      const dir = join(this.#root, name);
      for (const entry of await readdir(dir).catch(() => [] as string[])) {
        const tempPath = await readFile(join(dir, entry), 'utf8').catch(() => '');
        // Only what could be an agent temp file, never another path a note might hold.
        if (tempPath.startsWith('/') && AGENT_TEMP.test(basename(tempPath))) {
          await unlink(tempPath).then(
            () => removed.push(tempPath),
            () => undefined,
          );
        }
      }
      await rm(dir, { recursive: true, force: true });
    }
    return removed;
  }
}
