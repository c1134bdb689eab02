import { createTestHost, RecordingLogger, type TestDockerd } from '@infra/connector-testkit';
import { buildConnectorData, type SudoPasswordSource } from '@infra/core';
import Docker from 'dockerode';
import { DOCKER_DATA_META, DockerConnector } from '../src/index.js';

/** A DockerConnector on the test dockerd, containers in network mode none. */
export function dockerConnector(
  dockerd: TestDockerd,
  hostData: Record<string, unknown>,
  options: { sudoPassword?: SudoPasswordSource } = {},
): { connector: DockerConnector; log: RecordingLogger } {
  const data = { docker_host: dockerd.host, docker_network: 'none', ...hostData };
  const log = new RecordingLogger();
  const connector = new DockerConnector(
    createTestHost({
      name: `@docker:${String(data.docker_identifier)}`,
      data: buildConnectorData('docker', DOCKER_DATA_META, data),
      hostData: data,
      log,
      ...(options.sudoPassword ? { sudoPassword: options.sudoPassword } : {}),
    }),
  );
  return { connector, log };
}

/** dockerode on the test dockerd, to look at what the connector did. */
export function dockerClient(dockerd: TestDockerd): Docker {
  return new Docker({ socketPath: dockerd.socketPath });
}

/** Poll until `check` is true (at most `seconds`); false when it never was. */
export async function eventually(check: () => Promise<boolean>, seconds = 15): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}
