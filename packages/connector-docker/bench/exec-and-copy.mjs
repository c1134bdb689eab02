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
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

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

  console.log(`\n${FILE_MIB} MiB of random bytes (${ROUNDS} rounds, interleaved; best and median)`);
  const source = join(local, 'source.bin');
  await writeFile(source, randomBytes(FILE_MIB * 2 ** 20));
  // The files the replacing ways replace.
  await connector.putFile(source, '/tmp/put.bin');
  if (haveCli) await cli('cp', source, `${id}:/tmp/cp.bin`);
  // Each way twice: onto a path that does not exist yet, and replacing the file the last
  // round left. Replacing by rename (atomic) makes ext4 allocate and start writing the new
  // file's blocks at the rename (its auto_da_alloc safety); docker cp removes the old file
  // first (not atomic) and does not pay that.
  const fileWays = (round) => ({
    'connector.putFile (new file)': () => connector.putFile(source, `/tmp/put-${round}.bin`),
    'connector.putFile (replacing)': () => connector.putFile(source, '/tmp/put.bin'),
    'connector.getFile (new file)': () =>
      connector.getFile('/tmp/put.bin', join(local, `got-${round}.bin`)),
    'connector.getFile (replacing)': () =>
      connector.getFile('/tmp/put.bin', join(local, 'got.bin')),
    ...(haveCli
      ? {
          'docker cp to (new file)': () => cli('cp', source, `${id}:/tmp/cp-${round}.bin`),
          'docker cp to (replacing)': () => cli('cp', source, `${id}:/tmp/cp.bin`),
          'docker cp from (new file)': () =>
            cli('cp', `${id}:/tmp/cp.bin`, join(local, `cp-out-${round}.bin`)),
          'docker cp from (replacing)': () =>
            cli('cp', `${id}:/tmp/cp.bin`, join(local, 'cp-out.bin')),
        }
      : {}),
  });
  const times = Object.fromEntries(Object.keys(fileWays(0)).map((way) => [way, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, way] of Object.entries(fileWays(round))) {
      const start = performance.now();
      await way();
      times[name].push(performance.now() - start);
    }
    // The new files of this round go (not timed).
    await connector.runShellCommand(`rm -f /tmp/put-${round}.bin /tmp/cp-${round}.bin`);
    await rm(join(local, `got-${round}.bin`), { force: true });
    await rm(join(local, `cp-out-${round}.bin`), { force: true });
  }
  // The best run shows what the code can do; the median, what a loaded machine gives.
  const best = {};
  const median = {};
  for (const [name, list] of Object.entries(times)) {
    list.sort((a, b) => a - b);
    best[name] = list[0];
    median[name] = list[list.length >> 1];
  }
  const mibs = (ms) => (FILE_MIB / (ms / 1000)).toFixed(0);
  for (const name of Object.keys(times)) {
    console.log(
      `${name.padEnd(44)} best ${best[name].toFixed(0).padStart(5)} ms (${mibs(best[name])} MiB/s)  median ${median[name].toFixed(0).padStart(5)} ms (${mibs(median[name])} MiB/s)`,
    );
  }
  if (haveCli) {
    const ratio = (label, ours, cp) => {
      const of = (times) => (times[cp] / times[ours]).toFixed(2);
      console.log(`${label.padEnd(40)} best ${of(best)}  median ${of(median)}  (target >= 0.8)`);
    };
    for (const kind of ['new file', 'replacing']) {
      ratio(
        `put throughput / docker cp, ${kind}`,
        `connector.putFile (${kind})`,
        `docker cp to (${kind})`,
      );
      ratio(
        `get throughput / docker cp, ${kind}`,
        `connector.getFile (${kind})`,
        `docker cp from (${kind})`,
      );
    }
  }
  await connector.disconnect();
} finally {
  await rm(local, { recursive: true, force: true });
  await dockerd.stop();
}
