import { DockerConnector } from './docker-connector.js';

export { DockerConnector } from './docker-connector.js';
export {
  COMPOSE_SERVICE_LABEL,
  type ContainerFilter,
  DockerContainersInventoryConnector,
  parseContainerFilter,
} from './docker-containers-inventory.js';
export { DOCKER_DATA_META, type DockerData } from './docker-data.js';
export { ContainerStoppedError, DockerApiError } from './docker-errors.js';
export {
  DEFAULT_DOCKER_HOST,
  type DockerDaemonAddress,
  DockerHostError,
  resolveDockerHost,
} from './docker-host.js';
export default DockerConnector;
