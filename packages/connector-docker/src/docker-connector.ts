import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, resolve as resolveLocal } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import {
  BaseConnector,
  becomeArguments,
  type CommandInput,
  type CommandResult,
  CommandTimeoutError,
  ConnectError,
  type ConnectorArguments,
  ConnectorStateError,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InfraError,
  InventoryError,
  isSuccess,
  makeBecomeGetScript,
  makeBecomePutScript,
  makeRemoveScript,
  makeShellInvocation,
  makeUnixCommand,
  type NamesData,
  NotRegularFileError,
  type RunShellCommandOptions,
  refuseNonRegularLocalFile,
  refuseNonRegularShell,
  runWithRetries,
  runWithSudoRetry,
  StringCommand,
  sh,
  tempPathBeside,
  timeoutSignal,
  toStringCommand,
  usesBecome,
  withSudoPasswordStdin,
} from '@infra/core';
import Docker, { type Container, type ContainerInspectInfo } from 'dockerode';
import {
  type ContainerPathStat,
  extractFirstFile,
  packSingleFile,
  parsePathStat,
} from './docker-archive.js';
import { DOCKER_DATA_META, type DockerData } from './docker-data.js';
import { ContainerStoppedError, DockerApiError, reasonOf, statusOf } from './docker-errors.js';
import { runExec } from './docker-exec.js';
import { type DockerDaemonAddress, resolveDockerHost } from './docker-host.js';
import { pullImage } from './image-pull.js';
import { RenameHelper, STALE_TEMP_SWEEP } from './rename-helper.js';

/**
 * The main process of a container started from an image. Its stdin is attached
 * to this connector's connection to the daemon: when the connection closes (a
 * disconnect, a crash, Ctrl-C, SIGKILL), the read ends, the container exits and
 * the daemon removes it (AutoRemove). `tail -f /dev/null` would outlive us.
 */
const LIFELINE_ENTRYPOINT = ['sh', '-c', 'read -r _ || :'];

/** Local reads and writes of file transfers in 1 MiB pieces: 64 KiB ones halve the throughput. */
const READ_CHUNK = 2 ** 20;

/** How long `docker stop` waits before SIGKILL, for a container we started and stop again. */
const STOP_TIMEOUT_SECONDS = 10;

/** What a connection is working on. */
interface Session {
  readonly docker: Docker;
  readonly daemon: DockerDaemonAddress;
  readonly container: Container;
  /** `name (0123456789ab)`, for messages. */
  readonly containerName: string;
  /** `image`: started from an image, removed at the end; `container`: an existing one. */
  readonly mode: 'image' | 'container';
  /** Commit at disconnect, when something ran that could change the container. */
  readonly commit: boolean;
  /** A command ran (not one marked `readOnly`, as facts are) or a file was put. */
  changed: boolean;
  /** Stop at disconnect (an existing container that was stopped). */
  readonly stopAtEnd: boolean;
  /** The image's own entrypoint and command, restored in the committed image. */
  readonly imageConfig?: { Entrypoint: string[]; Cmd: string[] };
  /** The connection whose end removes the container (image mode). */
  readonly lifeline?: NodeJS.ReadWriteStream & { destroy(): void };
  /** The container's working directory: relative remote paths start there. */
  readonly workingDir: string;
  /** The container's configured user (`Config.User`, empty for root). */
  readonly configUser: string;
  /** uid and gid of the exec user, for files put through the archive API. */
  fileOwner?: Promise<{ uid: number; gid: number }>;
  /** The loop that renames uploaded files into place (undefined: it could not start). */
  renameHelper?: Promise<RenameHelper | undefined>;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function becomeName(options: FileOptions): string {
  if (options.suUser !== undefined) return `su ${options.suUser}`;
  if (options.sudo) return `sudo${options.sudoUser === undefined ? '' : ` -u ${options.sudoUser}`}`;
  return `doas${options.doasUser === undefined ? '' : ` -u ${options.doasUser}`}`;
}

/**
 * After `putArchive` dropped the file at `tempPath`: rename it over `destPath`
 * (atomic in one directory), unless that exists and is not a regular file; then
 * remove stale temporary files an earlier put of it left.
 */
function makeRenameScript(tempPath: string, destPath: string): StringCommand {
  return StringCommand.of(
    sh`d=${destPath};`,
    refuseNonRegularShell('d'),
    sh`; mv -f ${tempPath} "$d" && {`,
    STALE_TEMP_SWEEP,
    '; }',
  );
}

function makeMkdirScript(path: string): StringCommand {
  return sh`mkdir -p ${path}`;
}

/** A file's bytes, openable more than once, with their size (a tar header needs it first). */
interface SizedSource {
  readonly size: number;
  open(): Readable;
  dispose(): Promise<void>;
}

/** Paths and Buffers are read as they are; a stream is spooled to a local temp file first. */
async function sizedSource(src: FileSource): Promise<SizedSource> {
  if (Buffer.isBuffer(src)) {
    return { size: src.length, open: () => Readable.from([src]), dispose: async () => {} };
  }
  if (typeof src === 'string') {
    const info = await stat(src);
    if (!info.isFile()) throw new Error(`${JSON.stringify(src)} is not a regular file`);
    return {
      size: info.size,
      open: () => createReadStream(src, { highWaterMark: READ_CHUNK }),
      dispose: async () => {},
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'infra-docker-put-'));
  const spool = join(dir, 'source');
  try {
    await pipeline(src, createWriteStream(spool, { mode: 0o600 }));
    const { size } = await stat(spool);
    return {
      size,
      open: () => createReadStream(spool, { highWaterMark: READ_CHUNK }),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function localStatIfExists(path: string): Promise<{ mode: number } | undefined> {
  try {
    const info = await stat(path);
    return { mode: info.mode & 0o7777 };
  } catch {
    return undefined;
  }
}

/**
 * Docker containers through the Engine API (dockerode): `@docker:IMAGE` starts a
 * container from the image, runs everything in it and commits it to a new image
 * at the end; `@docker:CONTAINER` works in an existing container. Commands are
 * execs on a hijacked connection; files go through the archive API.
 */
export class DockerConnector extends BaseConnector<DockerData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = DOCKER_DATA_META;
  static override readonly description =
    'Docker containers through the Engine API: @docker:IMAGE builds an image with a deploy, @docker:CONTAINER uses an existing container.';

  static override makeNamesData(arg: string | undefined): NamesData[] {
    if (arg === undefined || arg.trim() === '') {
      throw new InventoryError(
        '@docker needs an image or a container: write @docker:alpine:3.20 (an image) or @docker:my-container (a container name or ID).',
      );
    }
    return [[`@docker:${arg}`, { docker_identifier: arg }, ['@docker']]];
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
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const data = this.host.data;
    const hostName = this.host.name;
    const identifier = data.docker_identifier;
    if (typeof identifier !== 'string' || identifier === '') {
      throw new ConnectError(
        hostName,
        'host data docker_identifier is not set: give an image or a container name.',
      );
    }
    let daemon: DockerDaemonAddress;
    try {
      daemon = resolveDockerHost(data.docker_host);
    } catch (error) {
      throw new ConnectError(hostName, (error as Error).message, { cause: error });
    }
    const docker = new Docker(daemon.options);
    try {
      // dockerode takes an abort signal here; its types do not say so.
      await (
        docker as unknown as { ping(options: { abortSignal: AbortSignal }): Promise<unknown> }
      ).ping({
        abortSignal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      throw new ConnectError(
        hostName,
        `the Docker daemon at ${daemon.description} (from ${daemon.source}) is not reachable: ${reasonOf(error)}. Is dockerd running there? Point docker_host or DOCKER_HOST at its socket or address.`,
        { cause: error },
      );
    }

    const existing = await this.#inspectContainer(docker, daemon, identifier);
    this.#session = existing
      ? await this.#useContainer(docker, daemon, existing)
      : await this.#startFromImage(docker, daemon, identifier);
  }

  async #inspectContainer(
    docker: Docker,
    daemon: DockerDaemonAddress,
    identifier: string,
  ): Promise<ContainerInspectInfo | undefined> {
    try {
      return await docker.getContainer(identifier).inspect();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new ConnectError(
        this.host.name,
        `could not look up container ${JSON.stringify(identifier)} on the Docker daemon at ${daemon.description}: ${reasonOf(error)}`,
        { cause: error },
      );
    }
  }

  async #useContainer(
    docker: Docker,
    daemon: DockerDaemonAddress,
    info: ContainerInspectInfo,
  ): Promise<Session> {
    const container = docker.getContainer(info.Id);
    const containerName = `${info.Name.replace(/^\//, '')} (${shortId(info.Id)})`;
    if (info.State.Paused) {
      throw new ConnectError(
        this.host.name,
        `container ${containerName} is paused: unpause it (docker unpause ${shortId(info.Id)}) and run again.`,
      );
    }
    let stopAtEnd = false;
    if (!info.State.Running) {
      this.host.log.info(`Starting stopped container ${containerName}`);
      try {
        await container.start();
      } catch (error) {
        throw new ConnectError(
          this.host.name,
          `container ${containerName} is stopped and could not be started on the Docker daemon at ${daemon.description}: ${reasonOf(error)}`,
          { cause: error },
        );
      }
      stopAtEnd = true;
    }
    return {
      docker,
      daemon,
      container,
      containerName,
      mode: 'container',
      // Like pyinfra: a container we had to start is committed at the end.
      commit: stopAtEnd && this.host.data.docker_commit !== false,
      changed: false,
      stopAtEnd,
      workingDir: info.Config.WorkingDir || '/',
      configUser: info.Config.User ?? '',
    };
  }

  async #startFromImage(
    docker: Docker,
    daemon: DockerDaemonAddress,
    image: string,
  ): Promise<Session> {
    const data = this.host.data;
    const platform = data.docker_platform;
    let imageInfo: Docker.ImageInspectInfo;
    try {
      imageInfo = await this.#ensureImage(docker, daemon, image, platform);
    } catch (error) {
      if (error instanceof ConnectError) throw error;
      throw new ConnectError(
        this.host.name,
        `no container or image ${JSON.stringify(image)} on the Docker daemon at ${daemon.description}: ${reasonOf(error)}`,
        { cause: error },
      );
    }

    let container: Container | undefined;
    try {
      container = await docker.createContainer({
        _query: platform ? { platform } : {},
        _body: {
          Image: image,
          Entrypoint: LIFELINE_ENTRYPOINT,
          OpenStdin: true,
          StdinOnce: true,
          AttachStdin: true,
          Tty: false,
          HostConfig: {
            AutoRemove: true,
            ...(data.docker_network !== undefined ? { NetworkMode: data.docker_network } : {}),
          },
        },
      } as unknown as Docker.ContainerCreateOptions);
      const lifeline = (await container.attach({
        stream: true,
        stdin: true,
        hijack: true,
      })) as unknown as Session['lifeline'] & NodeJS.EventEmitter;
      lifeline?.on('error', () => {});
      await container.start();
      const containerName = `${image} (${shortId(container.id)})`;
      this.host.log.debug(`Started container ${containerName} from ${image}`);
      return {
        docker,
        daemon,
        container,
        containerName,
        mode: 'image',
        commit: data.docker_commit !== false,
        changed: false,
        stopAtEnd: false,
        imageConfig: {
          Entrypoint: imageInfo.Config.Entrypoint ? [...imageInfo.Config.Entrypoint] : [],
          Cmd: imageInfo.Config.Cmd ? [...imageInfo.Config.Cmd] : [],
        },
        lifeline,
        workingDir: imageInfo.Config.WorkingDir || '/',
        configUser: imageInfo.Config.User ?? '',
      };
    } catch (error) {
      if (container) await container.remove({ force: true }).catch(() => {});
      throw new ConnectError(
        this.host.name,
        `could not start a container from image ${image} on the Docker daemon at ${daemon.description}: ${reasonOf(error)}`,
        { cause: error },
      );
    }
  }

  /** The image, pulled (with progress in the log) when it is not on the daemon yet. */
  async #ensureImage(
    docker: Docker,
    daemon: DockerDaemonAddress,
    image: string,
    platform: string | undefined,
  ): Promise<Docker.ImageInspectInfo> {
    try {
      return await docker.getImage(image).inspect();
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    this.host.log.info(
      `No container or local image ${image}: pulling it through ${daemon.description}`,
    );
    try {
      await pullImage(docker, image, platform, this.host.log);
    } catch (error) {
      throw new ConnectError(
        this.host.name,
        `no container or image named ${JSON.stringify(image)} on the Docker daemon at ${daemon.description}, and pulling the image failed: ${reasonOf(error)}. Check the name, or load the image there first (docker load / docker import).`,
        { cause: error },
      );
    }
    return docker.getImage(image).inspect();
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
    void session.renameHelper?.then((helper) => helper?.close());
    let commitError: unknown;
    try {
      if (session.commit && session.changed) await this.#commit(session);
      else if (session.commit) {
        this.host.log.info(
          `Nothing ran in ${session.containerName} that could change it (only facts, or nothing): no image committed.`,
        );
      }
    } catch (error) {
      commitError = error;
    } finally {
      if (session.mode === 'image') {
        await session.container.remove({ force: true }).catch((error: unknown) => {
          // 404: already gone (AutoRemove); 409: the daemon is removing it.
          if (statusOf(error) !== 404 && statusOf(error) !== 409) {
            this.host.log.warn(
              `Could not remove container ${session.containerName}: ${reasonOf(error)}`,
            );
          }
        });
        session.lifeline?.destroy();
      } else if (session.stopAtEnd) {
        await session.container.stop({ t: STOP_TIMEOUT_SECONDS }).catch(() => {});
      }
    }
    if (commitError !== undefined) {
      // 404: removed; 409: dead or being removed. The commands that ran have failed already.
      if (statusOf(commitError) === 404 || statusOf(commitError) === 409) {
        this.host.log.warn(
          `Container ${session.containerName} is gone (${reasonOf(commitError)}): nothing was committed.`,
        );
        return;
      }
      throw new DockerApiError(
        `Could not commit container ${session.containerName} on the Docker daemon at ${session.daemon.description}: ${reasonOf(commitError)}`,
        statusOf(commitError),
        { cause: commitError },
      );
    }
  }

  async #commit(session: Session): Promise<void> {
    const tag = this.host.data.docker_commit_tag;
    const query: Record<string, string | boolean> = {
      container: session.container.id,
      pause: true,
      comment: `infra deploy of ${this.host.name}`,
    };
    if (tag !== undefined && tag !== '') {
      const colon = tag.lastIndexOf(':');
      const hasTag = colon > tag.lastIndexOf('/');
      query.repo = hasTag ? tag.slice(0, colon) : tag;
      query.tag = hasTag ? tag.slice(colon + 1) : 'latest';
    }
    const result = (await session.container.commit({
      _query: query,
      // The image's own entrypoint and command, not the lifeline ([] keeps the daemon from filling it in).
      ...(session.imageConfig ? { _body: session.imageConfig } : {}),
    })) as { Id: string };
    this.committedImageId = result.Id;
    (this.host.log.notice ?? this.host.log.info).call(
      this.host.log,
      `docker build complete, image ID: ${shortId(result.Id)}${tag ? ` (tagged ${tag})` : ''}`,
    );
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

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    const session = this.#requireSession(`Cannot run ${String(toStringCommand(command))}`);
    if (!options.readOnly) session.changed = true;
    const args = this.#withSudoPassword(options);
    return runWithRetries(command, options, this.host.log, () =>
      runWithSudoRetry(command, args, this.host.sudoPassword, (next, nextArgs) =>
        this.#runOnce(session, next, nextArgs, options),
      ),
    );
  }

  /** `sudo_password` from host data when the call gives none. */
  #withSudoPassword<T extends ConnectorArguments>(args: T): T {
    const fromData = this.host.data.sudo_password;
    if (!args.sudo || args.sudoPassword !== undefined || fromData === undefined) return args;
    return { ...args, sudoPassword: fromData };
  }

  async #runOnce(
    session: Session,
    command: CommandInput,
    args: ConnectorArguments,
    options: Pick<RunShellCommandOptions, 'onOutput' | 'signal'>,
    extra: { stdoutSink?: Writable; user?: string } = {},
  ): Promise<CommandResult> {
    let { shell: program, script } = makeShellInvocation(command, args);
    const hideScript = script.hasSecrets();
    if (hideScript) {
      // The hidden path evals the text in `sh`: give it the full command.
      script = makeUnixCommand(command, args);
      program = 'sh';
    }
    // A sudo password goes first on stdin, never in the exec's command or environment.
    const stdin = withSudoPasswordStdin(args, args.stdin);
    const withPassword = stdin !== args.stdin;
    if (withPassword && args.getPty) {
      this.host.log.debug(
        `${this.host.name}: running without a terminal: a terminal would echo the sudo password sent on stdin.`,
      );
    }
    const output = await runExec({
      container: session.container,
      containerName: session.containerName,
      shell: program,
      script: script.getRawValue(),
      hideScript,
      shownCommand: String(toStringCommand(command)),
      user: extra.user ?? this.host.data.docker_user,
      tty: withPassword ? false : args.getPty,
      stdin,
      timeout: args.timeout,
      signal: options.signal,
      onOutput: options.onOutput,
      stdoutSink: extra.stdoutSink,
    });
    return {
      success: isSuccess(output.exitCode, output.signal, args.successExitCodes),
      output,
    };
  }

  /** A become script (sudo / su / doas), asking for the sudo password when sudo wants one. */
  #runBecomeScript(
    session: Session,
    script: StringCommand,
    options: FileOptions,
    extra: { stdin?: Readable; stdoutSink?: Writable } = {},
  ): Promise<CommandResult> {
    const args: ConnectorArguments = this.#withSudoPassword({
      ...becomeArguments(options),
      timeout: options.timeout,
      ...(extra.stdin !== undefined ? { stdin: extra.stdin } : {}),
    });
    return runWithSudoRetry(script, args, this.host.sudoPassword, (next, nextArgs) =>
      this.#runOnce(session, next, nextArgs, { signal: options.signal }, extra),
    );
  }

  /** Run a plain command as root (cleanup the exec user may not be allowed to do). */
  #runAsRoot(session: Session, script: StringCommand): Promise<CommandResult> {
    return this.#runOnce(session, script, { timeout: 30 }, {}, { user: '0' });
  }

  #remotePath(session: Session, path: string): string {
    return posix.resolve(session.workingDir, path);
  }

  /** What the daemon says about a path; undefined when nothing is there. */
  async #statPath(session: Session, path: string): Promise<ContainerPathStat | undefined> {
    try {
      const response = (await session.container.infoArchive({ path })) as {
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
  #fileOwner(session: Session): Promise<{ uid: number; gid: number }> {
    session.fileOwner ??= (async () => {
      const user = this.host.data.docker_user ?? session.configUser;
      if (user === '' || user === 'root' || user === '0' || user === '0:0')
        return { uid: 0, gid: 0 };
      const result = await this.#runOnce(session, 'id -u && id -g', {}, {});
      const [uid, gid] = result.output.stdoutLines.map(Number);
      if (!result.success || !Number.isInteger(uid) || !Number.isInteger(gid)) {
        throw new Error(
          `could not read the uid and gid of user ${user}: ${result.output.combined}`,
        );
      }
      return { uid: uid as number, gid: gid as number };
    })();
    return session.fileOwner;
  }

  /** The session's rename loop, started on the first put (again if it ended); undefined if it cannot start. */
  async #renameHelper(session: Session): Promise<RenameHelper | undefined> {
    for (;;) {
      const pending = session.renameHelper;
      if (pending !== undefined) {
        const helper = await pending;
        // Another put may have replaced a dead loop meanwhile: take that one.
        if (session.renameHelper !== pending) continue;
        if (helper === undefined || helper.alive) return helper;
      }
      session.renameHelper = RenameHelper.start(
        session.container,
        this.host.data.docker_user,
      ).catch((error: unknown) => {
        this.host.log.debug(
          `No rename helper in ${session.containerName} (${reasonOf(error)}): one exec per put instead`,
        );
        return undefined;
      });
    }
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    const session = this.#requireSession(`Cannot put ${describeFileEnd(src)}`);
    session.changed = true;
    const dest = this.#remotePath(session, remotePath);
    const dir = posix.dirname(dest);
    const action = `putFile ${describeFileEnd(src)} -> ${JSON.stringify(dest)} in container ${session.containerName}`;
    const signal = timeoutSignal(options);

    let existing: ContainerPathStat | undefined;
    let parent: ContainerPathStat | undefined;
    try {
      [existing, parent] = await Promise.all([
        this.#statPath(session, dest),
        this.#statPath(session, dir),
      ]);
    } catch (error) {
      if (statusOf(error) === 500 || statusOf(error) === 400) {
        throw new FileTransferError(
          `${action} failed: the daemon cannot look at ${JSON.stringify(dir)} (HTTP ${statusOf(error)}): is a part of that path a file, not a directory?`,
          { cause: error },
        );
      }
      throw this.#fileError(action, error, options);
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
    const mode = options.mode ?? existing?.mode ?? 0o644;
    const tempPath = tempPathBeside(dest, randomBytes(6).toString('hex'));

    let source: SizedSource;
    try {
      source = await sizedSource(src);
    } catch (error) {
      throw this.#fileError(`${action}: reading the source`, error, options);
    }
    try {
      if (usesBecome(options)) {
        await this.#putAsBecomeUser(session, source, {
          action,
          dest,
          tempPath,
          mode,
          createParents: parent === undefined,
          options,
        });
        return;
      }
      if (parent === undefined) {
        const made = await this.#runOnce(
          session,
          makeMkdirScript(dir),
          { timeout: options.timeout },
          {},
        );
        if (!made.success) {
          throw new FileTransferError(
            `${action} failed: mkdir -p ${JSON.stringify(dir)}: ${made.output.stderr}`,
          );
        }
      }
      const owner = await this.#fileOwner(session);
      const helper = await this.#renameHelper(session);
      if (helper) {
        await this.#putThroughHelper(session, helper, source, {
          action,
          dir,
          dest,
          tempPath,
          mode,
          owner,
          signal,
        });
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
        renamed = await this.#runOnce(
          session,
          makeRenameScript(tempPath, dest),
          { timeout: options.timeout },
          { signal: options.signal },
        );
      } catch (error) {
        await this.#runAsRoot(session, makeRemoveScript(tempPath)).catch(() => undefined);
        throw error;
      }
      if (!renamed.success) {
        await this.#runAsRoot(session, makeRemoveScript(tempPath)).catch(() => undefined);
        throw new FileTransferError(
          `${action} failed (exit ${renamed.output.exitCode}): ${renamed.output.stderr || 'no error output'}`,
        );
      }
    } catch (error) {
      throw this.#fileError(action, error, options);
    } finally {
      await source.dispose();
    }
  }

  /** Upload under the temp name, then have the helper rename it over the target. */
  async #putThroughHelper(
    session: Session,
    helper: RenameHelper,
    source: SizedSource,
    put: {
      action: string;
      dir: string;
      dest: string;
      tempPath: string;
      mode: number;
      owner: { uid: number; gid: number };
      signal: AbortSignal | undefined;
    },
  ): Promise<void> {
    const removeTemp = () =>
      this.#runAsRoot(session, makeRemoveScript(put.tempPath)).catch(() => undefined);
    let result: Awaited<ReturnType<RenameHelper['rename']>>;
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
        result = await helper.rename(put.tempPath, put.dest, put.signal);
      } catch (error) {
        // The loop had ended (killed, say) before it read this: once more with a new one.
        const next = put.signal?.aborted ? undefined : await this.#renameHelper(session);
        if (!next || next === helper) throw error;
        result = await next.rename(put.tempPath, put.dest, put.signal);
      }
    } catch (error) {
      await removeTemp();
      throw error;
    }
    if (result.status !== 0) {
      await removeTemp();
      throw new FileTransferError(
        `${put.action} failed (mv exit ${result.status}): ${result.message || 'no error output'}`,
      );
    }
  }

  async #putAsBecomeUser(
    session: Session,
    source: SizedSource,
    put: {
      action: string;
      dest: string;
      tempPath: string;
      mode: number;
      createParents: boolean;
      options: FileOptions;
    },
  ): Promise<void> {
    const script = makeBecomePutScript({
      destPath: put.dest,
      tempPath: put.tempPath,
      mode: put.mode,
      createParents: put.createParents,
    });
    let result: CommandResult;
    const stream = source.open();
    try {
      result = await this.#runBecomeScript(session, script, put.options, { stdin: stream });
    } catch (error) {
      stream.destroy();
      // SIGKILL (timeout, abort) skips the script's trap: remove the temp file here.
      await this.#runAsRoot(session, makeRemoveScript(put.tempPath)).catch(() => undefined);
      throw error;
    }
    stream.destroy();
    if (!result.success) {
      throw new FileTransferError(
        `${put.action} as ${becomeName(put.options)} failed (exit ${result.output.exitCode}): ${result.output.stderr || 'no error output'}`,
      );
    }
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    const session = this.#requireSession(`Cannot get ${JSON.stringify(remotePath)}`);
    const src = this.#remotePath(session, remotePath);
    const action = `getFile ${JSON.stringify(src)} in container ${session.containerName} -> ${describeFileEnd(dest)}`;

    let sink: Writable;
    let tempPath: string | undefined;
    let localDest: string | undefined;
    if (typeof dest === 'string') {
      localDest = resolveLocal(dest);
      tempPath = `${localDest}.infra-${randomBytes(6).toString('hex')}.tmp`;
      try {
        await refuseNonRegularLocalFile(localDest);
        sink = createWriteStream(tempPath, { flags: 'wx', mode: 0o600, highWaterMark: READ_CHUNK });
        await new Promise<void>((resolveOpen, rejectOpen) => {
          sink.once('open', () => resolveOpen());
          sink.once('error', rejectOpen);
        });
        // A later write error comes out of `finished(sink)` below.
        sink.on('error', () => {});
      } catch (error) {
        throw this.#fileError(action, error, options);
      }
    } else {
      sink = dest;
    }

    try {
      if (usesBecome(options)) {
        const result = await this.#runBecomeScript(session, makeBecomeGetScript(src), options, {
          stdoutSink: sink,
        });
        if (!result.success) {
          throw new FileTransferError(
            `${action} as ${becomeName(options)} failed (exit ${result.output.exitCode}): ${result.output.stderr || 'no error output'}`,
          );
        }
      } else {
        await this.#getThroughArchive(session, src, sink, action, timeoutSignal(options));
      }
      if (tempPath !== undefined && localDest !== undefined) {
        sink.end();
        await finished(sink);
        const existing = await localStatIfExists(localDest);
        await chmod(tempPath, options.mode ?? existing?.mode ?? 0o644);
        await rename(tempPath, localDest);
      }
    } catch (error) {
      if (tempPath !== undefined) {
        sink.destroy();
        await rm(tempPath, { force: true });
      }
      throw this.#fileError(action, error, options);
    }
  }

  /** `getArchive`, following symbolic links (as `cat` would) up to 16 deep. */
  async #getThroughArchive(
    session: Session,
    path: string,
    sink: Writable,
    action: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let current = path;
    for (let depth = 0; depth < 16; depth++) {
      let archive: NodeJS.ReadableStream;
      try {
        archive = await session.container.getArchive({ path: current, abortSignal: signal });
      } catch (error) {
        if (statusOf(error) === 404) {
          throw new FileTransferError(
            `${action} failed: ${JSON.stringify(current)} does not exist in the container.`,
            { cause: error },
          );
        }
        throw error;
      }
      const entry = await extractFirstFile(archive as Readable, sink);
      if (entry.type === 'file') return;
      if (entry.type === 'symlink') {
        current = posix.resolve(posix.dirname(current), entry.linkTarget);
        continue;
      }
      throw new FileTransferError(
        `${action} failed: ${JSON.stringify(current)} is ${entry.type === 'directory' ? 'a directory' : 'not a regular file'}.`,
      );
    }
    throw new FileTransferError(`${action} failed: too many levels of symbolic links.`);
  }

  #fileError(action: string, error: unknown, options: FileOptions): unknown {
    if (error instanceof FileTransferError || error instanceof ContainerStoppedError) return error;
    if (error instanceof CommandTimeoutError) {
      return new FileTransferError(`${action} failed: timed out after ${error.timeoutSeconds}s.`, {
        cause: error,
      });
    }
    if (error instanceof InfraError) return error;
    const name = (error as Error | undefined)?.name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      if (options.signal?.aborted) return options.signal.reason ?? error;
      if (options.timeout !== undefined) {
        return new FileTransferError(`${action} failed: timed out after ${options.timeout}s.`, {
          cause: error,
        });
      }
    }
    return new FileTransferError(`${action} failed: ${reasonOf(error)}`, { cause: error });
  }
}
