import { globToRegExp } from '@infra/connector-utils';
import { InventoryConnector, InventoryError, type NamesData } from '@infra/core';
import type Docker from 'dockerode';
import { directDaemonClient } from './daemon-client.js';
import { reasonOf } from './docker-errors.js';
import { type DockerDaemonAddress, DockerHostError, resolveDockerHost } from './docker-host.js';

/** The label Docker Compose puts the service name in: the hosts' group. */
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';

const EXPECTED =
  'expected comma-separated KEY=VALUE filters: label=KEY or label=KEY=VALUE, name=GLOB (* and ?), ancestor=IMAGE, host=DAEMON_ADDRESS; e.g. @docker-containers:label=role=web,name=api-*';

/** What `@docker-containers:ARG` asks for. */
export interface ContainerFilter {
  /** Docker `label` filters: every one must match. */
  readonly labels: readonly string[];
  /** Globs on the container name: any one may match (none: every name). */
  readonly names: readonly string[];
  /** Docker `ancestor` filters (the image or one built on it): any one may match. */
  readonly ancestors: readonly string[];
  /** `host=`: the daemon, else DOCKER_HOST, else the local socket. */
  readonly host?: string;
}

/**
 * Parse `label=role=web,name=api-*,ancestor=nginx:1.27,host=unix:///run/d.sock`.
 * Filters are split on commas, each on its first `=`; the same key may repeat.
 * An empty argument is no filter (every running container).
 */
export function parseContainerFilter(arg: string | undefined): ContainerFilter {
  const labels: string[] = [];
  const names: string[] = [];
  const ancestors: string[] = [];
  let host: string | undefined;
  const shown = `@docker-containers:${arg ?? ''}`;
  if (arg === undefined || arg.trim() === '') return { labels, names, ancestors };
  for (const raw of arg.split(',')) {
    const part = raw.trim();
    if (part === '') {
      throw new InventoryError(`${shown} has an empty filter (two commas in a row?): ${EXPECTED}.`);
    }
    const equals = part.indexOf('=');
    const key = equals === -1 ? part : part.slice(0, equals).trim();
    const value = equals === -1 ? '' : part.slice(equals + 1).trim();
    if (equals === -1 || value === '') {
      throw new InventoryError(
        `${shown}: filter ${JSON.stringify(part)} has no value: ${EXPECTED}.`,
      );
    }
    switch (key) {
      case 'label':
        if (value.startsWith('=')) {
          throw new InventoryError(
            `${shown}: filter ${JSON.stringify(part)} has no label name: ${EXPECTED}.`,
          );
        }
        labels.push(value);
        break;
      case 'name':
        if (!/^[\w.*?-]+$/.test(value)) {
          throw new InventoryError(
            `${shown}: filter ${JSON.stringify(part)} is not a name glob (letters, digits, _ . - and the wildcards * ?): ${EXPECTED}.`,
          );
        }
        names.push(value);
        break;
      case 'ancestor':
        ancestors.push(value);
        break;
      case 'host':
        if (host !== undefined) {
          throw new InventoryError(`${shown}: host= is given twice; one daemon per entry.`);
        }
        host = value;
        break;
      default:
        throw new InventoryError(
          `${shown}: unknown filter ${JSON.stringify(key)} in ${JSON.stringify(part)}: ${EXPECTED}.`,
        );
    }
  }
  return { labels, names, ancestors, ...(host !== undefined ? { host } : {}) };
}

function daemonFor(filter: ContainerFilter, shown: string): DockerDaemonAddress {
  let daemon: DockerDaemonAddress;
  try {
    daemon = resolveDockerHost(filter.host);
  } catch (error) {
    if (error instanceof DockerHostError) {
      throw new InventoryError(`${shown}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (daemon.ssh) {
    throw new InventoryError(
      `${shown}: the daemon at ${daemon.description} (from ${daemon.source}) is reached over ssh, which only hosts that run can do, not an inventory: list its containers on a unix:// or tcp:// address, or name them as @docker:CONTAINER with docker_host=${daemon.description}.`,
    );
  }
  return daemon;
}

/** The running containers a filter selects, sorted by name: `[name, id, labels, image]`. */
async function listMatchingContainers(
  filter: ContainerFilter,
  daemon: DockerDaemonAddress,
  shown: string,
): Promise<Docker.ContainerInfo[]> {
  const docker = directDaemonClient(daemon);
  const filters: Record<string, string[]> = { status: ['running'] };
  if (filter.labels.length > 0) filters.label = [...filter.labels];
  if (filter.ancestors.length > 0) filters.ancestor = [...filter.ancestors];
  let containers: Docker.ContainerInfo[];
  try {
    containers = await docker.listContainers({
      filters,
      abortSignal: AbortSignal.timeout(15_000),
    } as Docker.ContainerListOptions);
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 400 || status === 404 || status === 500) {
      // The daemon refused a filter (an ancestor image it does not know).
      throw new InventoryError(
        `${shown}: the Docker daemon at ${daemon.description} refused the filter: ${reasonOf(error)}.`,
        { cause: error },
      );
    }
    throw new InventoryError(
      `${shown}: the Docker daemon at ${daemon.description} (from ${daemon.source}) is not reachable: ${reasonOf(error)}. Is dockerd running there? Point host= in the filter or DOCKER_HOST at its socket or address.`,
      { cause: error },
    );
  }
  // The shared glob matcher: names were checked to hold no class brackets, only * and ?.
  const globs = filter.names.map((name) => globToRegExp(name));
  const nameOf = (container: Docker.ContainerInfo) =>
    (container.Names[0] ?? container.Id).replace(/^\//, '');
  return containers
    .filter(
      (container) =>
        globs.length === 0 ||
        container.Names.some((name) => globs.some((glob) => glob.test(name.replace(/^\//, '')))),
    )
    .sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
}

/**
 * `@docker-containers:FILTER`: the running containers of a Docker daemon that
 * match a filter, each yielded as `@docker:ID` (so `@docker` runs the commands),
 * in the group of its Docker Compose service when it has one.
 */
export class DockerContainersInventoryConnector extends InventoryConnector {
  static override readonly dataMeta = {
    docker_container_name: {
      description: 'Name of the container (set by @docker-containers)',
      type: 'string',
    },
    docker_image: {
      description: 'Image the container runs (set by @docker-containers)',
      type: 'string',
    },
  } as const;
  static override readonly description =
    'Inventory: the running containers of a Docker daemon that match a filter (label=, name=, ancestor=), as @docker hosts grouped by compose service';

  static override async makeNamesData(arg: string | undefined): Promise<NamesData[]> {
    const shown = `@docker-containers${arg === undefined ? '' : `:${arg}`}`;
    const filter = parseContainerFilter(arg);
    const daemon = daemonFor(filter, shown);
    const containers = await listMatchingContainers(filter, daemon, shown);
    return containers.map((container): NamesData => {
      const data: Record<string, unknown> = {
        docker_container_name: (container.Names[0] ?? '').replace(/^\//, ''),
        docker_image: container.Image,
      };
      if (daemon.source !== 'default') data.docker_host = daemon.description;
      const service = container.Labels?.[COMPOSE_SERVICE_LABEL];
      return [`@docker:${container.Id.slice(0, 12)}`, data, service ? [service] : []];
    });
  }
}
