import type { ConnectorData, DataMetaMap } from '@infra/core';

/** The docker connector's host data keys, with their defaults. */
export const DOCKER_DATA_META = {
  docker_identifier: {
    description:
      'Image to start a container from (alpine:3.20), or the name or ID of an existing container',
    type: 'string',
    required: true,
  },
  docker_host: {
    description:
      'Docker daemon address: unix:///path/docker.sock, tcp://host:2376 (default: DOCKER_HOST, else unix:///var/run/docker.sock)',
    type: 'string',
  },
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

/** The typed data a `DockerConnector` works with. */
export type DockerData = ConnectorData<typeof DOCKER_DATA_META>;
