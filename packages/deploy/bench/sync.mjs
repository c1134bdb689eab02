// files.sync of a tree of 1000 small files to one ssh host (the loopback OpenSSH
// sshd), against OpenSSH `scp -r` of the same tree in the same run: the first copy,
// then one changed file. Prints wall times and ratios; asserts nothing. Needs root
// and the test users (scripts/setup-test-host.sh), as the e2e tests do.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import { sshdMissingReason, startSshd, TEST_USERS } from '@infra/connector-testkit';
import { buildConnectorData, noSudoPassword } from '@infra/core';
import { deployContext, runHosts } from '../dist/index.js';

const missing = sshdMissingReason();
if (missing) {
  console.log(`sync bench skipped: ${missing}`);
  process.exit(0);
}

const sshd = await startSshd();
const local = await mkdtemp(join(tmpdir(), 'infra-bench-sync-'));
const remote = `${local}-remote`;
const src = join(local, 'tree');
const user = TEST_USERS.sudo.name;
const quiet = { debug() {}, info() {}, warn() {} };
for (let d = 0; d < 10; d++) {
  await mkdir(join(src, `d${d}`), { recursive: true });
  for (let f = 0; f < 100; f++)
    await writeFile(join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`);
}

function host() {
  const data = {
    ssh_hostname: sshd.host,
    ssh_port: sshd.port,
    ssh_user: user,
    ssh_key: sshd.clientKey.privateKeyPath,
    ssh_known_hosts_file: sshd.knownHostsFile,
    ssh_strict_host_key_checking: 'yes',
    ssh_allow_agent: false,
  };
  return {
    name: 'web1',
    groups: [],
    hostData: data,
    connector: new SshConnector({
      name: 'web1',
      data: buildConnectorData('ssh', SSH_DATA_META, data),
      hostData: data,
      log: quiet,
      sudoPassword: noSudoPassword,
    }),
  };
}

async function sync(dest) {
  const start = performance.now();
  const outcome = await runHosts({
    hosts: [host()],
    task: async (session) => {
      await deployContext(session).ops.files.sync({ src, dest, mode: '644' });
    },
  });
  if (outcome.failedHosts.size > 0) throw new Error(JSON.stringify([...outcome.failedHosts]));
  const sent = outcome.executed.flatMap((r) => r.commands).filter((c) => c.startsWith('upload'));
  return { ms: performance.now() - start, sent: sent.length };
}

function openssh(program, args) {
  const options = [
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${sshd.knownHostsFile}`,
    '-i',
    sshd.clientKey.privateKeyPath,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...options, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${program}: ${stderr}`)),
    );
  });
}

async function scpTree(dest) {
  const start = performance.now();
  await openssh('scp', ['-q', '-r', '-P', String(sshd.port), src, `${user}@${sshd.host}:${dest}`]);
  return performance.now() - start;
}

try {
  await openssh('ssh', ['-p', String(sshd.port), `${user}@${sshd.host}`, `mkdir -p ${remote}`]);
  await scpTree(`${remote}/warm`);
  await sync(`${remote}/warm-infra`);
  const scpFirst = await scpTree(`${remote}/scp`);
  const first = await sync(`${remote}/infra`);
  await writeFile(join(src, 'd7', 'f42.txt'), 'changed\n');
  const scpAgain = await scpTree(`${remote}/scp`);
  const second = await sync(`${remote}/infra`);
  const third = await sync(`${remote}/infra`);
  console.log(`OpenSSH scp -r of 1000 files:                 ${scpFirst.toFixed(0)} ms`);
  console.log(
    `infra files.sync, first run:                  ${first.ms.toFixed(0)} ms (${first.sent} upload: one archive of the 1000)`,
  );
  console.log(
    `OpenSSH scp -r again after one change:        ${scpAgain.toFixed(0)} ms (all 1000 sent)`,
  );
  console.log(
    `infra files.sync after one change:            ${second.ms.toFixed(0)} ms (${second.sent} upload)`,
  );
  console.log(
    `infra files.sync, nothing changed:            ${third.ms.toFixed(0)} ms (${third.sent} uploads)`,
  );
  console.log(`ratio first sync / scp -r:        ${(first.ms / scpFirst).toFixed(2)}x`);
  console.log(`ratio one-change sync / scp -r:   ${(second.ms / scpAgain).toFixed(2)}x`);
} finally {
  await sshd.dispose();
  await rm(local, { recursive: true, force: true });
  await rm(remote, { recursive: true, force: true });
}
