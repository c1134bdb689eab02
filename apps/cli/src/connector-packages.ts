/** The package that provides each well-known connector, for the "install it" hint. */
const CONNECTOR_PACKAGES: Readonly<Record<string, string>> = {
  chroot: '@infra/connector-chroot',
  local: '@infra/connector-local',
  ssh: '@infra/connector-ssh',
  'ssh-config': '@infra/connector-ssh',
  docker: '@infra/connector-docker',
  'docker-containers': '@infra/connector-docker',
  rest: '@infra/connector-rest',
};

export function connectorPackageFor(connectorName: string): string | undefined {
  return Object.hasOwn(CONNECTOR_PACKAGES, connectorName)
    ? CONNECTOR_PACKAGES[connectorName]
    : undefined;
}
