import {
  type RawCommand,
  type RawCommandIo,
  type RawExit,
  TransportConnector,
  usesBecome,
} from '@infra/connector-utils';
import {
  type CommandInput,
  type CommandResult,
  ConnectorStateError,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  InventoryError,
  type NamesData,
  type RunShellCommandOptions,
  toStringCommand,
  type ViaTarget,
} from '@infra/core';
import { execInContainer } from './docker-commands.js';
import { commitFailure, commitIfChanged } from './docker-commit.js';
import { DOCKER_DATA_META, type DockerData, type EngineData } from './docker-data.js';
import { getFileFromContainer } from './docker-get.js';
import {
  DOCKER_ADDRESS_RULES,
  type DockerDaemonAddress,
  daemonViaTarget,
  resolveDaemonAddress,
} from './docker-host.js';
import { putFileInContainer } from './docker-put.js';
import { containerPath, openSession, releaseContainer, type Session } from './docker-session.js';

/**
 * Containers through the Docker Engine API (dockerode), the code `@docker` and
 * `@podman` share: `IMAGE` starts a container from the image, runs everything in
 * it and commits it to a new image at the end; `CONTAINER` works in an existing
 * container. The transport: commands are execs on a hijacked connection, files go
 * through the archive API. The rest (command building, sudo retry, retries,
 * timeouts and abort, puts and gets as a become user) comes from
 * `@infra/connector-utils`. A subclass says where its daemon is.
 */
export abstract class EngineApiConnector<
  TData extends EngineData = EngineData,
> extends TransportConnector<TData> {
  /** Where the daemon is, from the host's data and the environment (throws `DockerHostError`). */
  protected abstract resolveDaemon(): DockerDaemonAddress;

  /**
   * Whether the archive API reaches this path as it is written (the files then go
   * through it); else they go through commands in the container, as for a become user.
   */
  protected archiveReaches(_path: string): boolean {
    return true;
  }

  #session: Session | undefined;
  #connecting: Promise<void> | undefined;
  /** The image the last disconnect committed (`sha256:...`). */
  committedImageId: string | undefined;

  /** The container's full ID while connected. */
  get containerId(): string | undefined {
    return this.#session?.container.id;
  }

  /** `image` (a container started from an image) or `container` (an existing one), while connected. */
  get mode(): 'image' | 'container' | undefined {
    return this.#session?.mode;
  }

  override connect(): Promise<void> {
    if (this.#session) return Promise.resolve();
    this.#connecting ??= openSession(this.host, () => this.resolveDaemon())
      .then((session) => {
        this.#session = session;
      })
      .finally(() => {
        this.#connecting = undefined;
      });
    return this.#connecting;
  }

  /**
   * Image mode: commit (unless docker_commit is false) and remove the container.
   * An existing container that was stopped is committed and stopped again; one
   * that was running is left as it is. Idempotent.
   */
  override async disconnect(): Promise<void> {
    await this.#connecting?.catch(() => {});
    const session = this.#session;
    if (!session) return;
    this.#session = undefined;
    session.closed = true;
    let commitError: unknown;
    try {
      // The rename loop ends first (killed when stuck: none is left in the container).
      await session.renameHelper?.then((helper) => helper?.close());
      const imageId = await commitIfChanged(this.host, session);
      if (imageId !== undefined) this.committedImageId = imageId;
    } catch (error) {
      commitError = error;
    } finally {
      await releaseContainer(this.host, session);
    }
    if (commitError !== undefined) {
      const failure = commitFailure(this.host, session, commitError);
      if (failure) throw failure;
    }
  }

  #requireSession(action: string): Session {
    const session = this.#session;
    if (!session) {
      throw new ConnectorStateError(
        `${action}: not connected to ${this.host.name}; call connect() first.`,
      );
    }
    return session;
  }

  /** One raw command as an exec in the container. */
  protected override runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    const session = this.#requireSession(`Cannot run ${command.shownCommand}`);
    return execInContainer(this.host, session, command, io);
  }

  /** Relative remote paths start at the container's working directory. */
  protected override resolveRemotePath(path: string): string {
    return containerPath(this.#requireSession(`Cannot use ${JSON.stringify(path)}`), path);
  }

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    const session = this.#requireSession(`Cannot run ${String(toStringCommand(command))}`);
    if (!options.readOnly) session.changed = true;
    return super.runShellCommand(command, options);
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    const session = this.#requireSession(`Cannot put ${describeFileEnd(src)}`);
    session.changed = true;
    if (usesBecome(options) || !this.archiveReaches(containerPath(session, remotePath))) {
      return super.putFile(src, remotePath, options);
    }
    await putFileInContainer(this.host, session, src, remotePath, options);
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    const session = this.#requireSession(`Cannot get ${JSON.stringify(remotePath)}`);
    if (usesBecome(options) || !this.archiveReaches(containerPath(session, remotePath))) {
      return super.getFile(remotePath, dest, options);
    }
    await getFileFromContainer(session, remotePath, dest, options);
  }
}

/**
 * Docker containers through the Engine API: `@docker:IMAGE` builds an image with a
 * deploy, `@docker:CONTAINER` works in an existing container. The daemon is
 * `docker_host`, else `DOCKER_HOST`, else the local socket; `ssh://user@host` is
 * the daemon's socket on that host, through the `@ssh` connection the run opens.
 */
export class DockerConnector extends EngineApiConnector<DockerData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = DOCKER_DATA_META;
  static override readonly description =
    'Docker containers through the Engine API: @docker:IMAGE builds an image with a deploy, @docker:CONTAINER uses an existing container; docker_host=ssh://user@host reaches a daemon through @ssh.';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    return containerNamesData('docker', arg);
  }

  /** `docker_host=ssh://user@host[:port]` (or `DOCKER_HOST`): the `@ssh` host its socket is reached through. */
  static viaOf(hostData: Readonly<Record<string, unknown>>): ViaTarget | undefined {
    return daemonViaTarget(hostData, DOCKER_ADDRESS_RULES);
  }

  protected override resolveDaemon(): DockerDaemonAddress {
    return resolveDaemonAddress(this.host.data.docker_host, DOCKER_ADDRESS_RULES);
  }
}

/** `@NAME:IMAGE-OR-CONTAINER` -> one host with `docker_identifier`, in the group `@NAME`. */
export function containerNamesData(name: string, arg: string | undefined): NamesData[] {
  if (arg === undefined || arg.trim() === '') {
    throw new InventoryError(
      `@${name} needs an image or a container: write @${name}:alpine:3.20 (an image) or @${name}:my-container (a container name or ID).`,
    );
  }
  return [[`@${name}:${arg}`, { docker_identifier: arg }, [`@${name}`]]];
}
