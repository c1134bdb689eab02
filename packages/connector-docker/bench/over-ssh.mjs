// pnpm bench: docker over ssh (docker_host=ssh://, through an SshConnector's unix-socket
// channels) against the same connector on the daemon's local socket, in one run.
// Prints times and ratios; asserts nothing.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import {
  buildBusyboxImage,
  dockerdMissingReason,
  shareUnixSocket,
  sshdMissingReason,
  startDockerd,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { buildConnectorData, noSudoPassword } from '@infra/core';
import { DOCKER_DATA_META, DockerConnector } from '../dist/index.js';

const EXECS = Number(process.env.BENCH_EXECS ?? 200);
const FILE_MIB = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const missing = dockerdMissingReason() ?? sshdMissingReason();
if (missing) {
  console.log(`bench skipped: ${missing}`);
  process.exit(0);
}

const quiet = { debug() {}, info() {}, warn() {} };
const user = TEST_USERS.plain.name;
const [dockerd, sshd] = await Promise.all([startDockerd(), startSshd()]);
try {
  const image = await buildBusyboxImage(dockerd, { tag: 'infra-bench/busybox:latest' });
  await shareUnixSocket(dockerd.socketPath, user);
  const sshData = {
    ssh_hostname: sshd.host,
    ssh_port: sshd.port,
    ssh_user: user,
    ssh_key: sshd.clientKey.privateKeyPath,
    ssh_known_hosts_file: sshd.knownHostsFile,
    ssh_allow_agent: false,
  };
  const via = new SshConnector({
    name: '@ssh:bench',
    data: buildConnectorData('ssh', SSH_DATA_META, sshData),
    hostData: sshData,
    log: quiet,
    sudoPassword: noSudoPassword,
  });
  await via.connect();
  const docker = (dockerHost, extra = {}) => {
    const hostData = {
      docker_identifier: image,
      docker_host: dockerHost,
      docker_network: 'none',
      docker_commit: false,
    };
    return new DockerConnector({
      name: '@docker:bench',
      data: buildConnectorData('docker', DOCKER_DATA_META, hostData),
      hostData,
      log: quiet,
      sudoPassword: noSudoPassword,
      ...extra,
    });
  };
  const ways = {
    'local socket (baseline)': docker(dockerd.host),
    'over ssh': docker(`ssh://${user}@${sshd.host}:${sshd.port}${dockerd.socketPath}`, { via }),
  };
  for (const connector of Object.values(ways)) await connector.connect();

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const time = async (fn) => {
    const start = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const report = (title, results) => {
    const base = median(results['local socket (baseline)']);
    console.log(`\n${title} (median of ${ROUNDS} interleaved rounds)`);
    for (const [name, values] of Object.entries(results)) {
      const m = median(values);
      console.log(`  ${name.padEnd(26)} ${m.toFixed(1).padStart(8)} ms  x${(m / base).toFixed(2)}`);
    }
  };

  const execs = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
  const files = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
  const bytes = randomBytes(FILE_MIB * 1024 * 1024);
  const sink = () =>
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    });
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, connector] of Object.entries(ways)) {
      execs[name].push(
        await time(async () => {
          for (let i = 0; i < EXECS; i++) await connector.runShellCommand('true');
        }),
      );
      files[name].push(
        await time(async () => {
          await connector.putFile(bytes, '/tmp/bench.bin');
          await connector.getFile('/tmp/bench.bin', sink());
        }),
      );
    }
  }
  report(`${EXECS} sequential \`true\` execs`, execs);
  report(`put + get of ${FILE_MIB} MiB`, files);
  for (const connector of Object.values(ways)) await connector.disconnect();
  await via.disconnect();
} finally {
  await sshd.dispose();
  await dockerd.stop();
}
