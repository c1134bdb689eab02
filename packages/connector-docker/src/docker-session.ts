import { posix } from 'node:path';
import { ConnectError, type ConnectorHost } from '@infra/core';
import type Docker from 'dockerode';
import type { Container, ContainerInspectInfo } from 'dockerode';
import { daemonClient } from './daemon-client.js';
import type { EngineData } from './docker-data.js';
import { reasonOf, statusOf } from './docker-errors.js';
import type { DockerDaemonAddress } from './docker-host.js';
import { pullImage } from './image-pull.js';
import type { RenameHelper } from './rename-helper.js';

/**
 * The main process of a container started from an image. Its stdin is attached
 * to this connector's connection to the daemon: when the connection closes (a
 * disconnect, a crash, Ctrl-C, SIGKILL), the read ends, the container exits and
 * the daemon removes it (AutoRemove). `tail -f /dev/null` would outlive us.
 */
const LIFELINE_ENTRYPOINT = ['sh', '-c', 'read -r _ || :'];

/** How long `docker stop` waits before SIGKILL, for a container we started and stop again. */
const STOP_TIMEOUT_SECONDS = 10;

/** The host as the shared docker / podman code sees it. */
export type DockerHost = ConnectorHost<EngineData>;

/** What a connection is working on. */
export interface Session {
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
  /** The connection is closing (disconnect): no rename loop starts again. */
  closed?: boolean;
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** A remote path as the container sees it: relative ones start at its working directory. */
export function containerPath(session: Session, path: string): string {
  return posix.resolve(session.workingDir, path);
}

/** Reach the daemon, then use the container `docker_identifier` names or start one from that image. */
export async function openSession(
  host: DockerHost,
  resolveDaemon: () => DockerDaemonAddress,
): Promise<Session> {
  const data = host.data;
  const identifier = data.docker_identifier;
  if (typeof identifier !== 'string' || identifier === '') {
    throw new ConnectError(
      host.name,
      'host data docker_identifier is not set: give an image or a container name.',
    );
  }
  let daemon: DockerDaemonAddress;
  try {
    daemon = resolveDaemon();
  } catch (error) {
    throw new ConnectError(host.name, (error as Error).message, { cause: error });
  }
  const docker = daemonClient(host, daemon);
  try {
    // dockerode takes an abort signal here; its types do not say so.
    await (
      docker as unknown as { ping(options: { abortSignal: AbortSignal }): Promise<unknown> }
    ).ping({
      abortSignal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new ConnectError(
      host.name,
      `${daemon.rules.daemonName} at ${daemon.description} (from ${daemon.source}) is not reachable: ${reasonOf(error)}. ${daemon.rules.serverHint} Point ${daemon.rules.dataKey} or ${daemon.rules.envName} at its socket or address.`,
      { cause: error },
    );
  }

  const existing = await inspectContainer(host, docker, daemon, identifier);
  return existing
    ? await useContainer(host, docker, daemon, existing)
    : await startFromImage(host, docker, daemon, identifier);
}

async function inspectContainer(
  host: DockerHost,
  docker: Docker,
  daemon: DockerDaemonAddress,
  identifier: string,
): Promise<ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(identifier).inspect();
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw new ConnectError(
      host.name,
      `could not look up container ${JSON.stringify(identifier)} on ${daemon.rules.daemonName} at ${daemon.description}: ${reasonOf(error)}`,
      { cause: error },
    );
  }
}

async function useContainer(
  host: DockerHost,
  docker: Docker,
  daemon: DockerDaemonAddress,
  info: ContainerInspectInfo,
): Promise<Session> {
  const container = docker.getContainer(info.Id);
  const containerName = `${info.Name.replace(/^\//, '')} (${shortId(info.Id)})`;
  if (info.State.Paused) {
    throw new ConnectError(
      host.name,
      `container ${containerName} is paused: unpause it (docker unpause ${shortId(info.Id)}) and run again.`,
    );
  }
  let stopAtEnd = false;
  if (!info.State.Running) {
    host.log.info(`Starting stopped container ${containerName}`);
    try {
      await container.start();
    } catch (error) {
      throw new ConnectError(
        host.name,
        `container ${containerName} is stopped and could not be started on ${daemon.rules.daemonName} at ${daemon.description}: ${reasonOf(error)}`,
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
    commit: stopAtEnd && host.data.docker_commit !== false,
    changed: false,
    stopAtEnd,
    workingDir: info.Config.WorkingDir || '/',
    configUser: info.Config.User ?? '',
  };
}

async function startFromImage(
  host: DockerHost,
  docker: Docker,
  daemon: DockerDaemonAddress,
  image: string,
): Promise<Session> {
  const data = host.data;
  const platform = data.docker_platform;
  let imageInfo: Docker.ImageInspectInfo;
  try {
    imageInfo = await ensureImage(host, docker, daemon, image, platform);
  } catch (error) {
    if (error instanceof ConnectError) throw error;
    throw new ConnectError(
      host.name,
      `no container or image ${JSON.stringify(image)} on ${daemon.rules.daemonName} at ${daemon.description}: ${reasonOf(error)}`,
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
    host.log.debug(`Started container ${containerName} from ${image}`);
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
      host.name,
      `could not start a container from image ${image} on ${daemon.rules.daemonName} at ${daemon.description}: ${reasonOf(error)}`,
      { cause: error },
    );
  }
}

/** The image, pulled (with progress in the log) when it is not on the daemon yet. */
async function ensureImage(
  host: DockerHost,
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
  host.log.info(`No container or local image ${image}: pulling it through ${daemon.description}`);
  try {
    await pullImage(docker, image, platform, host.log);
  } catch (error) {
    throw new ConnectError(
      host.name,
      `no container or image named ${JSON.stringify(image)} on ${daemon.rules.daemonName} at ${daemon.description}, and pulling the image failed: ${reasonOf(error)}. Check the name, or load the image there first (docker load / docker import).`,
      { cause: error },
    );
  }
  return docker.getImage(image).inspect();
}

/**
 * The end of a session: a container started from an image is removed (its
 * lifeline closed); an existing container that was stopped is stopped again.
 */
export async function releaseContainer(host: DockerHost, session: Session): Promise<void> {
  if (session.mode === 'image') {
    await session.container.remove({ force: true }).catch((error: unknown) => {
      // 404: already gone (AutoRemove); 409: the daemon is removing it.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) {
        host.log.warn(`Could not remove container ${session.containerName}: ${reasonOf(error)}`);
      }
    });
    session.lifeline?.destroy();
  } else if (session.stopAtEnd) {
    await session.container.stop({ t: STOP_TIMEOUT_SECONDS }).catch(() => {});
  }
  // Connections kept alive to a daemon over ssh are channels of a connection others share.
  (session.docker.modem as { agent?: { destroy?: () => void } }).agent?.destroy?.();
}
