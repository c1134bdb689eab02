import type { ConnectorData, DataMetaMap } from '@infra/core';

const DOCKER_IDENTIFIER = {
  description:
    'Image to start a container from (alpine:3.20), or the name or ID of an existing container',
  type: 'string',
  required: true,
} as const;

/** What to do in the container, the same for docker and podman. */
const CONTAINER_DATA_META = {
  docker_user: {
    description: 'User the commands run as in the container (name, uid or uid:gid)',
    type: 'string',
  },
  docker_commit: {
    description:
      'At disconnect, commit the container to a new image (image mode, and existing containers that were stopped)',
    type: 'boolean',
    default: true,
  },
  docker_commit_tag: {
    description: 'repo:tag given to the committed image',
    type: 'string',
  },
  docker_platform: {
    description: 'Platform of the image to pull and run, e.g. linux/amd64',
    type: 'string',
  },
  docker_network: {
    description:
      'Network mode of the container started from an image: bridge, host, none or a network name (default: the daemon default)',
    type: 'string',
  },
  sudo_password: {
    description: 'sudo password in the container, used when sudo says it needs one',
    type: 'string',
    secret: true,
  },
} as const satisfies DataMetaMap;

/** The keys the docker and podman connectors share: the container and what to do with it. */
export const ENGINE_DATA_META = {
  docker_identifier: DOCKER_IDENTIFIER,
  ...CONTAINER_DATA_META,
} as const satisfies DataMetaMap;

/** The docker connector's host data keys, with their defaults. */
export const DOCKER_DATA_META = {
  docker_identifier: DOCKER_IDENTIFIER,
  docker_host: {
    description:
      'Docker daemon address: unix:///path/docker.sock, ssh://user@host[:port][/socket/path] (through @ssh), tcp://host:2376 (default: DOCKER_HOST, else unix:///var/run/docker.sock)',
    type: 'string',
  },
  ...CONTAINER_DATA_META,
} as const satisfies DataMetaMap;

/** The podman connector's host data keys: the docker ones, with podman's API address. */
export const PODMAN_DATA_META = {
  docker_identifier: DOCKER_IDENTIFIER,
  podman_host: {
    description:
      'Podman API service address: unix:///path/podman.sock, ssh://user@host[:port]/path/podman.sock (through @ssh), tcp://host:port (default: CONTAINER_HOST, else unix:///run/podman/podman.sock)',
    type: 'string',
  },
  ...CONTAINER_DATA_META,
} as const satisfies DataMetaMap;

/** What the shared session code reads (every key but the daemon's address). */
export type EngineData = ConnectorData<typeof ENGINE_DATA_META>;
/** The typed data a `DockerConnector` works with. */
export type DockerData = ConnectorData<typeof DOCKER_DATA_META>;
/** The typed data a `PodmanConnector` works with. */
export type PodmanData = ConnectorData<typeof PODMAN_DATA_META>;
