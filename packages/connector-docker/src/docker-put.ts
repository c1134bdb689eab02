import { posix } from 'node:path';
import {
  makeRemoveScript,
  runStoppable,
  tempPathBeside,
  untilAborted,
} from '@infra/connector-utils';
import {
  type CommandResult,
  describeFileEnd,
  type FileOptions,
  type FileSource,
  FileTransferError,
  NotRegularFileError,
  refuseNonRegularShell,
  StringCommand,
  sh,
} from '@infra/core';
import { type ContainerPathStat, packSingleFile, parsePathStat } from './docker-archive.js';
import { runAsRoot, runInContainer } from './docker-commands.js';
import { reasonOf, statusOf } from './docker-errors.js';
import { fileError } from './docker-file-errors.js';
import { containerPath, type DockerHost, type Session } from './docker-session.js';
import { KEEP_OWNER, RenameHelper, STALE_TEMP_SWEEP } from './rename-helper.js';
import { type SizedSource, sizedSource } from './sized-source.js';

/**
 * After `putArchive` dropped the file at `tempPath`: rename it over `destPath`
 * (atomic in one directory), unless that exists and is not a regular file; then
 * remove stale temporary files an earlier put of it left. The file keeps the
 * owner of the one it replaces, as through the rename helper.
 */
function makeRenameScript(tempPath: string, destPath: string): StringCommand {
  return StringCommand.of(
    sh`d=${destPath}; t=${tempPath};`,
    refuseNonRegularShell('d'),
    '; me=$(stat -c %u:%g "$t" 2>/dev/null); ',
    KEEP_OWNER,
    '; mv -f "$t" "$d" && {',
    STALE_TEMP_SWEEP,
    '; }',
  );
}

function makeMkdirScript(path: string): StringCommand {
  return sh`mkdir -p ${path}`;
}

/** What the daemon says about a path; undefined when nothing is there. */
async function statPath(
  session: Session,
  path: string,
  signal: AbortSignal,
): Promise<ContainerPathStat | undefined> {
  try {
    // dockerode takes an abort signal here; its types do not say so.
    const response = (await session.container.infoArchive({ path, abortSignal: signal } as {
      path: string;
    })) as {
      headers?: Record<string, string | string[] | undefined>;
      resume?: () => void;
    };
    response.resume?.();
    const header = response.headers?.['x-docker-container-path-stat'];
    return typeof header === 'string' ? parsePathStat(header) : undefined;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}

/** uid and gid of the exec user (docker_user, else the container's user), asked once. */
function fileOwner(host: DockerHost, session: Session): Promise<{ uid: number; gid: number }> {
  session.fileOwner ??= (async () => {
    const user = host.data.docker_user ?? session.configUser;
    if (user === '' || user === 'root' || user === '0' || user === '0:0') return { uid: 0, gid: 0 };
    const result = await runInContainer(host, session, 'id -u && id -g', {}, {});
    const [uid, gid] = result.output.stdoutLines.map(Number);
    if (!result.success || !Number.isInteger(uid) || !Number.isInteger(gid)) {
      throw new Error(`could not read the uid and gid of user ${user}: ${result.output.combined}`);
    }
    return { uid: uid as number, gid: gid as number };
  })();
  return session.fileOwner;
}

/** The session's rename loop, started on the first put (again if it ended); undefined if it cannot start. */
async function renameHelperOf(
  host: DockerHost,
  session: Session,
): Promise<RenameHelper | undefined> {
  for (;;) {
    // A put still going at disconnect renames with an exec of its own, or fails.
    if (session.closed) return undefined;
    const pending = session.renameHelper;
    if (pending !== undefined) {
      const helper = await pending;
      // Another put may have replaced a dead loop meanwhile: take that one.
      if (session.renameHelper !== pending) continue;
      if (helper === undefined || helper.alive) return helper;
    }
    session.renameHelper = RenameHelper.start(session.container, host.data.docker_user).catch(
      (error: unknown) => {
        host.log.debug(
          `No rename helper in ${session.containerName} (${reasonOf(error)}): one exec per put instead`,
        );
        return undefined;
      },
    );
  }
}

/**
 * Copy a file into the container as the exec user (a put as a become user goes
 * through the shared layer instead): upload it beside the target under a temp
 * name through the archive API, then rename it into place (through the session's
 * rename helper when it runs). The one abort/timeout rule holds (`runStoppable`)
 * from the first request on: every wait of the put ends when it is stopped.
 */
export async function putFileInContainer(
  host: DockerHost,
  session: Session,
  src: FileSource,
  remotePath: string,
  options: FileOptions,
): Promise<void> {
  if (options.signal?.aborted) throw options.signal.reason;
  const dest = containerPath(session, remotePath);
  const dir = posix.dirname(dest);
  const action = `putFile ${describeFileEnd(src)} -> ${JSON.stringify(dest)} in container ${session.containerName}`;
  try {
    await runStoppable(
      { shownCommand: action, timeout: options.timeout, signal: options.signal },
      async (stop) => {
        const { mode, makeParent } = await checkTarget(session, action, dest, options, stop);
        let source: SizedSource;
        try {
          source = await sizedSource(src, stop);
        } catch (error) {
          throw fileError(`${action}: reading the source`, error, options);
        }
        try {
          const tempPath = tempPathBeside(dest);
          const put = { action, dir, dest, tempPath, mode, signal: stop };
          await uploadAndRename(host, session, source, put, makeParent);
        } finally {
          await source.dispose();
        }
      },
    );
  } catch (error) {
    throw fileError(action, error, options);
  }
}

/**
 * Look at the target and its directory (two stats through the daemon): only a
 * regular file is replaced, the directory must be one (or be made). Says the
 * mode the file gets and whether its directory is to be made.
 */
async function checkTarget(
  session: Session,
  action: string,
  dest: string,
  options: FileOptions,
  signal: AbortSignal,
): Promise<{ mode: number; makeParent: boolean }> {
  const dir = posix.dirname(dest);
  let existing: ContainerPathStat | undefined;
  let parent: ContainerPathStat | undefined;
  try {
    [existing, parent] = await Promise.all([
      statPath(session, dest, signal),
      statPath(session, dir, signal),
    ]);
  } catch (error) {
    if (statusOf(error) === 500 || statusOf(error) === 400) {
      throw new FileTransferError(
        `${action} failed: the daemon cannot look at ${JSON.stringify(dir)} (HTTP ${statusOf(error)}): is a part of that path a file, not a directory?`,
        { cause: error },
      );
    }
    throw fileError(action, error, options);
  }
  // Only a regular file is replaced (a symbolic link is followed by the rename's own check).
  if (existing && !existing.isSymlink && existing.kind !== 'a regular file') {
    throw new NotRegularFileError(dest, existing.kind, `container ${session.containerName}`);
  }
  if (parent === undefined && !options.createParents) {
    throw new FileTransferError(
      `${action} failed: the directory ${JSON.stringify(dir)} does not exist in the container (pass createParents: true to create it).`,
    );
  }
  if (parent !== undefined && !parent.isDirectory) {
    throw new FileTransferError(`${action} failed: ${JSON.stringify(dir)} is not a directory.`);
  }
  return { mode: options.mode ?? existing?.mode ?? 0o644, makeParent: parent === undefined };
}

/** Why the put stopped, for the renames a killed loop fails. */
function stopReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the put was stopped');
}

interface ArchivePut {
  action: string;
  dir: string;
  dest: string;
  tempPath: string;
  mode: number;
  /** Fires on the put's timeout or abort. */
  signal: AbortSignal;
}

async function uploadAndRename(
  host: DockerHost,
  session: Session,
  source: SizedSource,
  put: ArchivePut,
  makeParent: boolean,
): Promise<void> {
  const { action, dir, dest, tempPath, mode, signal } = put;
  if (makeParent) {
    const made = await runInContainer(host, session, makeMkdirScript(dir), {}, { signal });
    if (!made.success) {
      throw new FileTransferError(
        `${action} failed: mkdir -p ${JSON.stringify(dir)}: ${made.output.stderr}`,
      );
    }
  }
  // Both are shared with other puts: this one stops waiting when stopped; they go on.
  const owner = await untilAborted(fileOwner(host, session), signal);
  const helper = await untilAborted(renameHelperOf(host, session), signal);
  if (helper) {
    await putThroughHelper(host, session, helper, source, { ...put, owner });
    return;
  }
  // No helper loop (the daemon would not start it): upload, then one exec renames.
  const archive = packSingleFile(source.open(), {
    name: posix.basename(tempPath),
    size: source.size,
    mode,
    ...owner,
  });
  let renamed: CommandResult;
  try {
    await session.container.putArchive(archive, { path: dir, abortSignal: signal } as {
      path: string;
    });
    renamed = await runInContainer(host, session, makeRenameScript(tempPath, dest), {}, { signal });
  } catch (error) {
    await runAsRoot(host, session, makeRemoveScript(tempPath)).catch(() => undefined);
    throw error;
  }
  if (!renamed.success) {
    await runAsRoot(host, session, makeRemoveScript(tempPath)).catch(() => undefined);
    throw new FileTransferError(
      `${action} failed (exit ${renamed.output.exitCode}): ${renamed.output.stderr || 'no error output'}`,
    );
  }
}

/**
 * Upload under the temp name, then have the helper rename it over the target.
 * A put stopped after it took the helper kills it when no other put waits on
 * it: the put cannot tell whether the loop is what held it (it may be stuck,
 * even stopped), and a loop left so would hang the next put; the next one
 * starts a new loop. A stop during the rename kills it anyway (`rename`).
 * The put settles once the temp file and the loop are gone.
 */
async function putThroughHelper(
  host: DockerHost,
  session: Session,
  helper: RenameHelper,
  source: SizedSource,
  put: ArchivePut & { owner: { uid: number; gid: number } },
): Promise<void> {
  const removeTemp = () =>
    runAsRoot(host, session, makeRemoveScript(put.tempPath)).catch(() => undefined);
  let result: Awaited<ReturnType<RenameHelper['rename']>>;
  let current = helper;
  try {
    const archive = packSingleFile(source.open(), {
      name: posix.basename(put.tempPath),
      size: source.size,
      mode: put.mode,
      ...put.owner,
    });
    await session.container.putArchive(archive, {
      path: put.dir,
      abortSignal: put.signal,
    } as { path: string });
    try {
      result = await current.rename(put.tempPath, put.dest, put.signal);
    } catch (error) {
      // The loop had ended (killed, say) before it read this: once more with a new one.
      const next = put.signal.aborted
        ? undefined
        : await untilAborted(renameHelperOf(host, session), put.signal);
      if (!next || next === current) throw error;
      current = next;
      result = await current.rename(put.tempPath, put.dest, put.signal);
    }
  } catch (error) {
    const stopped = put.signal.aborted && current.idle;
    await Promise.all([removeTemp(), stopped ? current.kill(stopReason(put.signal)) : undefined]);
    throw error;
  }
  if (result.status !== 0) {
    await removeTemp();
    throw new FileTransferError(
      `${put.action} failed (mv exit ${result.status}): ${result.message || 'no error output'}`,
    );
  }
}
