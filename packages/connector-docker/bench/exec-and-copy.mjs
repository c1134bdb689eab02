// pnpm bench: the connector against the docker CLI (and the raw Engine API), in one run.
// Prints times and ratios; asserts nothing.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildBusyboxImages, dockerdMissingReason, startDockerd } from '@infra/connector-testkit';
import { buildConnectorData, noSudoPassword } from '@infra/core';
import Docker from 'dockerode';
import { DOCKER_DATA_META, DockerConnector } from '../dist/index.js';

const run = promisify(execFile);
const EXECS = Number(process.env.BENCH_EXECS ?? 200);
const FILE_MIB = 64;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const missing = dockerdMissingReason();
if (missing) {
  console.log(`bench skipped: ${missing}`);
  process.exit(0);
}

const dockerd = await startDockerd();
const local = await mkdtemp(join(tmpdir(), 'infra-docker-bench-'));
try {
  const images = await buildBusyboxImages(dockerd);
  const hostData = {
    docker_identifier: images.busybox,
    docker_host: dockerd.host,
    docker_network: 'none',
    docker_commit: false,
  };
  const quiet = { debug() {}, info() {}, warn() {} };
  const connector = new DockerConnector({
    name: '@docker:bench',
    data: buildConnectorData('docker', DOCKER_DATA_META, hostData),
    hostData,
    log: quiet,
    sudoPassword: noSudoPassword,
  });
  await connector.connect();
  const id = connector.containerId;
  const docker = new Docker({ socketPath: dockerd.socketPath });
  const container = docker.getContainer(id);
  const cli = (...args) => run('docker', ['-H', dockerd.host, ...args], { maxBuffer: 2 ** 30 });
  let haveCli = true;
  try {
    await cli('version');
  } catch {
    haveCli = false;
    console.log('docker CLI not found: the CLI baselines are skipped');
  }

  console.log(
    `\n${EXECS} sequential \`true\` execs (dockerd ${dockerd.version}, API ${dockerd.apiVersion})`,
  );
  console.log('(interleaved: one of each in turn, so load on the machine hits all three alike)');
  const execWays = {
    'connector.runShellCommand': () => connector.runShellCommand('true'),
    'raw dockerode (create, start, inspect)': async () => {
      const exec = await container.exec({
        Cmd: ['sh', '-c', 'true'],
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      stream.resume();
      await new Promise((resolve) => stream.once('end', resolve));
      await exec.inspect();
    },
    ...(haveCli ? { 'docker exec (CLI)': () => cli('exec', id, 'sh', '-c', 'true') } : {}),
  };
  const execMs = Object.fromEntries(Object.keys(execWays).map((way) => [way, 0]));
  for (const way of Object.values(execWays)) await way(); // warm up every path once
  for (let i = 0; i < EXECS; i++) {
    for (const [name, way] of Object.entries(execWays)) {
      const start = performance.now();
      await way();
      execMs[name] += performance.now() - start;
    }
  }
  for (const [name, ms] of Object.entries(execMs)) {
    console.log(
      `${name.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms  (${(ms / EXECS).toFixed(1)} ms each)`,
    );
  }
  const connectorMs = execMs['connector.runShellCommand'];
  const rawMs = execMs['raw dockerode (create, start, inspect)'];
  console.log(
    `ratio connector / raw API  ${(connectorMs / rawMs).toFixed(2)}  (the connector's overhead: ~1.0)`,
  );
  if (haveCli) {
    console.log(
      `ratio connector / CLI      ${(connectorMs / execMs['docker exec (CLI)']).toFixed(2)}  (target <= 0.7)`,
    );
  }

  console.log(`\n${FILE_MIB} MiB of random bytes (best of ${ROUNDS}, interleaved)`);
  const source = join(local, 'source.bin');
  await writeFile(source, randomBytes(FILE_MIB * 2 ** 20));
  const fileWays = {
    'connector.putFile': () => connector.putFile(source, '/tmp/put.bin'),
    'connector.getFile': () => connector.getFile('/tmp/put.bin', join(local, 'got.bin')),
    ...(haveCli
      ? {
          'docker cp (to the container)': () => cli('cp', source, `${id}:/tmp/cp.bin`),
          'docker cp (from the container)': () =>
            cli('cp', `${id}:/tmp/cp.bin`, join(local, 'cp-out.bin')),
        }
      : {}),
  };
  const best = Object.fromEntries(
    Object.keys(fileWays).map((way) => [way, Number.POSITIVE_INFINITY]),
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, way] of Object.entries(fileWays)) {
      const start = performance.now();
      await way();
      best[name] = Math.min(best[name], performance.now() - start);
    }
  }
  const mibs = (ms) => (FILE_MIB / (ms / 1000)).toFixed(0);
  for (const [name, ms] of Object.entries(best)) {
    console.log(`${name.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms  (${mibs(ms)} MiB/s)`);
  }
  if (haveCli) {
    const putRatio = best['docker cp (to the container)'] / best['connector.putFile'];
    const getRatio = best['docker cp (from the container)'] / best['connector.getFile'];
    console.log(`put throughput / docker cp  ${putRatio.toFixed(2)}  (target >= 0.8)`);
    console.log(`get throughput / docker cp  ${getRatio.toFixed(2)}  (target >= 0.8)`);
  }
  await connector.disconnect();
} finally {
  await rm(local, { recursive: true, force: true });
  await dockerd.stop();
}
