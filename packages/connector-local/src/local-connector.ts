import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  fileFailure,
  ProcessGroups,
  type RawCommand,
  type RawCommandIo,
  type RawExit,
  runRawLocally,
  SUDO_PASSWORD_DATA_META,
  TransportConnector,
  timeoutSignal,
  usesBecome,
} from '@infra/connector-utils';
import {
  type ConnectorData,
  type DataMetaMap,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  InventoryError,
  type NamesData,
} from '@infra/core';
import { getFileAsCurrentUser, prepareLocalPut, putFileAsCurrentUser } from './local-files.js';
import { connectUnixSocket } from './local-unix-socket.js';

/** The local connector's host data keys: only `sudo_password`, as every connector has. */
export const LOCAL_DATA_META = { ...SUDO_PASSWORD_DATA_META } as const satisfies DataMetaMap;

export type LocalConnectorData = ConnectorData<typeof LOCAL_DATA_META>;

/**
 * Runs commands and moves files on this machine. Its transport is
 * `runLocalProcess` (`sh -c` in a process group of its own per command); files move
 * through the file system directly, or through `@infra/connector-utils`' become-aware
 * put and get when `sudo`, `su` or `doas` is asked for.
 */
export class LocalConnector extends TransportConnector<LocalConnectorData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = LOCAL_DATA_META;
  static override readonly description =
    'This machine: commands run as child processes, files are moved directly.';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    if (arg !== undefined) {
      throw new InventoryError(
        `@local takes no argument, but got ${JSON.stringify(arg)} (from "@local:${arg}"): write just @local.`,
      );
    }
    return [['@local', {}, ['@local']]];
  }

  /** Process groups still running, killed by `disconnect()`. */
  readonly #groups = new ProcessGroups();

  override async disconnect(): Promise<void> {
    this.#groups.killAll();
  }

  /** The transport: `sh -c SCRIPT` in a process group of its own. */
  protected override runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    return runRawLocally(command, io, { groups: this.#groups });
  }

  protected override resolveRemotePath(path: string): string {
    return resolve(path);
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    const dest = resolve(remotePath);
    const action = `putFile ${describeFileEnd(src)} -> ${JSON.stringify(dest)}`;
    const parentSeen = await prepareLocalPut(dest, options.createParents ?? false, action);
    if (usesBecome(options)) {
      return super.putFile(src, dest, { ...options, createParents: !parentSeen });
    }
    try {
      await putFileAsCurrentUser(src, dest, { mode: options.mode, signal: timeoutSignal(options) });
    } catch (error) {
      throw fileFailure(action, timedOut(error, options), options);
    }
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    if (usesBecome(options)) return super.getFile(remotePath, dest, options);
    const src = resolve(remotePath);
    const action = `getFile ${JSON.stringify(src)} -> ${describeFileEnd(dest)}`;
    try {
      await getFileAsCurrentUser(src, typeof dest === 'string' ? resolve(dest) : dest, {
        mode: options.mode,
        signal: timeoutSignal(options),
      });
    } catch (error) {
      throw fileFailure(action, timedOut(error, options), options);
    }
  }

  /** A stream to a unix socket on this machine, for hosts that run through this one. */
  openUnixSocket(path: string, options: { signal?: AbortSignal } = {}): Promise<Duplex> {
    return connectUnixSocket(this.host.name, path, options.signal);
  }
}

/** A file system call stopped by `timeoutSignal`'s timeout, said as the one rule says it. */
function timedOut(error: unknown, options: FileOptions): unknown {
  const name = (error as Error | undefined)?.name;
  if (
    (name === 'TimeoutError' || name === 'AbortError') &&
    !options.signal?.aborted &&
    options.timeout !== undefined
  ) {
    return new Error(`timed out after ${options.timeout}s`, { cause: error });
  }
  return error;
}
