import { createTestHost, RecordingLogger, type TestDockerd } from '@infra/connector-testkit';
import {
  buildConnectorData,
  type Connector,
  type DataMetaMap,
  type SudoPasswordSource,
} from '@infra/core';
import Docker from 'dockerode';
import {
  DOCKER_DATA_META,
  DockerConnector,
  type EngineApiConnector,
  PODMAN_DATA_META,
  PodmanConnector,
} from '../src/index.js';

export interface EngineConnectorOptions {
  sudoPassword?: SudoPasswordSource;
  /** The connected host this one runs through (what the engine gives for `ssh://` addresses). */
  via?: Connector;
}

/** A connector of the given class on some daemon, with a logger the test can read. */
export function engineConnector<T extends EngineApiConnector>(
  kind: 'docker' | 'podman',
  hostData: Record<string, unknown>,
  options: EngineConnectorOptions = {},
): { connector: T; log: RecordingLogger } {
  const [Class, meta]: [new (host: never) => EngineApiConnector, DataMetaMap] =
    kind === 'docker' ? [DockerConnector, DOCKER_DATA_META] : [PodmanConnector, PODMAN_DATA_META];
  const log = new RecordingLogger();
  const host = {
    ...createTestHost({
      name: `@${kind}:${String(hostData.docker_identifier)}`,
      data: buildConnectorData(kind, meta, hostData),
      hostData,
      log,
      ...(options.sudoPassword ? { sudoPassword: options.sudoPassword } : {}),
    }),
    ...(options.via ? { via: options.via } : {}),
  };
  return { connector: new Class(host as never) as T, log };
}

/** A DockerConnector on the test dockerd, containers in network mode none. */
export function dockerConnector(
  dockerd: TestDockerd,
  hostData: Record<string, unknown>,
  options: EngineConnectorOptions = {},
): { connector: DockerConnector; log: RecordingLogger } {
  const data = { docker_host: dockerd.host, docker_network: 'none', ...hostData };
  return engineConnector<DockerConnector>('docker', data, options);
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

/** Run `work` with the environment variable `name` set to `value`, then put it back as it was. */
export async function withEnv<T>(name: string, value: string, work: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  process.env[name] = value;
  try {
    return await work();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

/** Connect, `echo TEXT` in the container, disconnect: what the command printed. */
export async function echoThrough(connector: Connector, text: string): Promise<string> {
  await connector.connect();
  try {
    return (await connector.runShellCommand(`echo ${text}`)).output.stdout;
  } finally {
    await connector.disconnect();
  }
}
