// @chroot through @ssh against its baseline, the same ssh connection running the same
// `chroot ROOT sh -c true` itself; and @chroot here against a raw spawn of it. Measured
// in the same run (needs root, sshd and busybox-static, as the tests). Prints ratios;
// never fails on a time.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import { createTestHost, makeBusyboxRoot, startSshd } from '@infra/connector-testkit';
import { buildConnectorData } from '@infra/core';
import { CHROOT_DATA_META, ChrootConnector } from '../dist/index.js';

const COUNT = 50;
const ROUNDS = 3;

const root = await makeBusyboxRoot();
const sshd = await startSshd({ rootLogin: true });
const sshData = {
  ssh_hostname: sshd.host,
  ssh_port: sshd.port,
  ssh_user: 'root',
  ssh_key: sshd.clientKey.privateKeyPath,
  ssh_known_hosts_file: sshd.knownHostsFile,
  ssh_allow_agent: false,
};
const ssh = new SshConnector(
  createTestHost({
    name: '@ssh:root',
    hostData: sshData,
    data: buildConnectorData('ssh', SSH_DATA_META, sshData),
  }),
);
await ssh.connect();
const chrootFor = (via) => {
  const [name, hostData] = ChrootConnector.makeNamesData(root.dir)[0];
  const data = buildConnectorData('chroot', CHROOT_DATA_META, hostData);
  return new ChrootConnector(createTestHost({ name, hostData, data, ...(via ? { via } : {}) }));
};
const here = chrootFor();
const viaSsh = chrootFor({ name: '@ssh:root', connector: ssh });
await here.connect();
await viaSsh.connect();

const rawChroot = () =>
  new Promise((resolve, reject) => {
    const child = spawn('chroot', [root.dir, 'sh', '-c', 'true'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
const ok = (connector, command) => async () => {
  const result = await connector.runShellCommand(command);
  if (!result.success) throw new Error(`${command} failed: ${result.output.combined}`);
};
const pairs = [
  ['@chroot here', ok(here, 'true'), 'raw chroot spawn', rawChroot],
  [
    '@chroot via @ssh',
    ok(viaSsh, 'true'),
    '@ssh running chroot',
    ok(ssh, `chroot ${root.dir} sh -c true`),
  ],
];

async function best(run) {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    for (let i = 0; i < COUNT; i++) await run();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}

try {
  for (const [label, run, baseLabel, baseline] of pairs) {
    for (let i = 0; i < 5; i++) {
      await run();
      await baseline();
    }
    const base = await best(baseline);
    const measured = await best(run);
    console.log(
      `${label}: ${(measured / COUNT).toFixed(1)} ms a command, ${baseLabel}: ${(base / COUNT).toFixed(1)} ms (ratio ${(measured / base).toFixed(2)}, best of ${ROUNDS} x ${COUNT})`,
    );
  }
} finally {
  await here.disconnect();
  await viaSsh.disconnect();
  await ssh.disconnect();
  await sshd.dispose();
  await root.remove();
}
