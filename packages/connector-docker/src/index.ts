import { DockerConnector } from './docker-connector.js';

export { DockerConnector, EngineApiConnector } from './docker-connector.js';
export {
  COMPOSE_SERVICE_LABEL,
  type ContainerFilter,
  DockerContainersInventoryConnector,
  parseContainerFilter,
} from './docker-containers-inventory.js';
export {
  DOCKER_DATA_META,
  type DockerData,
  ENGINE_DATA_META,
  type EngineData,
  PODMAN_DATA_META,
  type PodmanData,
} from './docker-data.js';
export { ContainerStoppedError, DockerApiError } from './docker-errors.js';
export {
  type DaemonAddressRules,
  DEFAULT_DOCKER_HOST,
  DEFAULT_PODMAN_HOST,
  DOCKER_ADDRESS_RULES,
  type DockerDaemonAddress,
  DockerHostError,
  PODMAN_ADDRESS_RULES,
  resolveDaemonAddress,
  resolveDockerHost,
} from './docker-host.js';
export { PodmanConnector } from './podman-connector.js';
export type { SshDaemonTarget } from './ssh-daemon-address.js';
export default DockerConnector;
