import { createServer } from 'node:http';
import { DOCKER_DATA_META, DockerConnector } from '@infra/connector-docker';
import LocalConnector from '@infra/connector-local';
import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import {
  dockerApi,
  type SshdFixture,
  TEST_USERS,
  type TestDockerd,
} from '@infra/connector-testkit';
import { buildConnectorData, noSudoPassword } from '@infra/core';
import {
  type DeployFunction,
  deployContext,
  type OperationResult,
  type RunEvent,
  type RunHost,
  type RunOptions,
  runHosts,
} from '../src/index.js';

const quiet = { debug() {}, info() {}, warn() {} };

export function localHost(name: string, hostData: Record<string, unknown> = {}): RunHost {
  return {
    name,
    groups: [],
    hostData,
    connector: new LocalConnector({
      name,
      data: {},
      hostData,
      log: quiet,
      sudoPassword: noSudoPassword,
    }),
  };
}

/** A host in a container of the test dockerd: started from `image`, or an existing container. */
export function dockerHost(
  dockerd: TestDockerd,
  identifier: string,
  hostData: Record<string, unknown> = {},
  name = `@docker:${identifier}`,
): RunHost {
  const data = {
    docker_host: dockerd.host,
    docker_network: 'none',
    docker_identifier: identifier,
    docker_commit: false,
    ...hostData,
  };
  return {
    name,
    groups: ['@docker'],
    hostData: data,
    connector: new DockerConnector({
      name,
      data: buildConnectorData('docker', DOCKER_DATA_META, data),
      hostData: data,
      log: quiet,
      sudoPassword: noSudoPassword,
    }),
  };
}

/** A host on the fixture sshd, logged in as `user` (default: the NOPASSWD sudo user). */
export function sshHost(
  sshd: SshdFixture,
  name: string,
  hostData: Record<string, unknown> = {},
  user: string = TEST_USERS.sudo.name,
): RunHost {
  const data: Record<string, unknown> = {
    ssh_hostname: sshd.host,
    ssh_port: sshd.port,
    ssh_user: user,
    ssh_key: sshd.clientKey.privateKeyPath,
    ssh_known_hosts_file: sshd.knownHostsFile,
    ssh_strict_host_key_checking: 'yes',
    ssh_allow_agent: false,
    ...hostData,
  };
  return {
    name,
    groups: [],
    hostData: data,
    connector: new SshConnector({
      name,
      data: buildConnectorData('ssh', SSH_DATA_META, data),
      hostData: data,
      log: quiet,
      sudoPassword: noSudoPassword,
    }),
  };
}

/** Run a deploy function on hosts (fresh connectors each time: pass a factory). */
export async function run(
  fn: DeployFunction,
  hosts: RunHost[],
  options: Partial<Omit<RunOptions, 'hosts' | 'task'>> = {},
) {
  const events: RunEvent[] = [];
  const outcome = await runHosts({
    hosts,
    task: async (session) => fn(deployContext(session), {}),
    diff: true,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { ...outcome, events };
}

export const statuses = (results: readonly OperationResult[]) =>
  results.map((r) => `${r.operation}:${r.status}`);

/** Create and start a container on the test dockerd; returns its id. Removed with `removeContainer`. */
export async function startContainer(
  dockerd: TestDockerd,
  spec: Record<string, unknown>,
): Promise<string> {
  const created = await dockerApi(dockerd.socketPath, 'POST', '/containers/create', spec);
  const id = (created.json as { Id?: string } | undefined)?.Id;
  if (created.status !== 201 || !id) {
    throw new Error(`container create failed (${created.status}): ${created.body.toString()}`);
  }
  const started = await dockerApi(dockerd.socketPath, 'POST', `/containers/${id}/start`);
  if (started.status !== 204) {
    throw new Error(`container start failed (${started.status}): ${started.body.toString()}`);
  }
  return id;
}

export async function removeContainer(dockerd: TestDockerd, id: string | undefined): Promise<void> {
  if (id) await dockerApi(dockerd.socketPath, 'DELETE', `/containers/${id}?force=true&v=true`);
}

/** Run a command in a container (to look at what a deploy did, not through infra). */
export async function containerExec(
  dockerd: TestDockerd,
  id: string,
  command: string,
): Promise<string> {
  const exec = await dockerApi(dockerd.socketPath, 'POST', `/containers/${id}/exec`, {
    Cmd: ['sh', '-c', command],
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
  });
  const execId = (exec.json as { Id: string }).Id;
  const started = await dockerApi(dockerd.socketPath, 'POST', `/exec/${execId}/start`, {
    Detach: false,
    Tty: true,
  });
  return started.body.toString('utf8').replace(/\r\n/g, '\n').trim();
}

/** A one-file HTTP server on 127.0.0.1 for files.download. */
export async function serveFile(
  content: Buffer,
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server = createServer((request, response) => {
    hits++;
    if (request.url !== '/file.bin') {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'Content-Length': content.length }).end(content);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/file.bin`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
