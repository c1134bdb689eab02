// One files.put to 100 ssh hosts (100 inventory names for one loopback OpenSSH sshd),
// against a baseline of 100 parallel OpenSSH `scp` processes in the same run.
// Prints wall times and ratios; asserts nothing. Needs root and the test users
// (scripts/setup-test-host.sh), as the e2e tests do.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSH_DATA_META, SshConnector } from '@infra/connector-ssh';
import { sshdMissingReason, startSshd, TEST_USERS } from '@infra/connector-testkit';
import { buildConnectorData, noSudoPassword } from '@infra/core';
import { deployContext, mapBounded, runHosts } from '../dist/index.js';

const HOSTS = 100;
const missing = sshdMissingReason();
if (missing) {
  console.log(`ssh-put bench skipped: ${missing}`);
  process.exit(0);
}

const sshd = await startSshd({ maxStartups: '300:30:400' });
const local = await mkdtemp(join(tmpdir(), 'infra-bench-put-'));
const remote = `${local}-remote`;
const src = join(local, 'payload.bin');
await writeFile(src, Buffer.alloc(4096, 'x'));
const user = TEST_USERS.sudo.name;
const quiet = { debug() {}, info() {}, warn() {} };

function hosts() {
  return Array.from({ length: HOSTS }, (_, i) => {
    const name = `web${String(i).padStart(3, '0')}`;
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
  });
}

async function deployRun(dir) {
  const start = performance.now();
  const outcome = await runHosts({
    hosts: hosts(),
    task: async (session) => {
      const { ops, host } = deployContext(session);
      await ops.files.put({ src, dest: `${dir}/${host.name}.bin`, mode: '644' });
    },
  });
  const ms = performance.now() - start;
  if (outcome.failedHosts.size > 0) {
    throw new Error(`hosts failed: ${JSON.stringify([...outcome.failedHosts].slice(0, 3))}`);
  }
  return { ms, ending: outcome.ending, changed: outcome.executed.filter((r) => r.changed).length };
}

function scp(dest) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'scp',
      [
        '-q',
        '-o',
        'BatchMode=yes',
        '-o',
        `UserKnownHostsFile=${sshd.knownHostsFile}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-i',
        sshd.clientKey.privateKeyPath,
        '-P',
        String(sshd.port),
        src,
        `${user}@${sshd.host}:${dest}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`scp: ${code} ${stderr}`)),
    );
  });
}

function ssh(command) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ssh',
      [
        '-o',
        'BatchMode=yes',
        '-o',
        `UserKnownHostsFile=${sshd.knownHostsFile}`,
        '-i',
        sshd.clientKey.privateKeyPath,
        '-p',
        String(sshd.port),
        `${user}@${sshd.host}`,
        command,
      ],
      { stdio: 'ignore' },
    );
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ssh exited ${code}`))));
  });
}

/** `limit` scp processes at a time (all of them when undefined). */
async function scpRun(dir, limit) {
  const start = performance.now();
  const names = Array.from({ length: HOSTS }, (_, i) => `web${String(i).padStart(3, '0')}`);
  await mapBounded(names, limit, (name) => scp(`${dir}/${name}.bin`));
  return performance.now() - start;
}

try {
  await ssh(`mkdir -p ${remote}/warm ${remote}/scp ${remote}/scp10 ${remote}/infra`);
  // Warm-up (sshd, page cache, JIT), then the measured runs.
  await scpRun(`${remote}/warm`);
  await deployRun(`${remote}/warm`);
  const raw = await scpRun(`${remote}/scp`);
  const raw10 = await scpRun(`${remote}/scp10`, 10);
  const first = await deployRun(`${remote}/infra`);
  const second = await deployRun(`${remote}/infra`);
  console.log(`${HOSTS} parallel OpenSSH scp (one connection each):   ${raw.toFixed(0)} ms`);
  console.log(`${HOSTS} OpenSSH scp, 10 at a time:                    ${raw10.toFixed(0)} ms`);
  console.log(
    `infra files.put to ${HOSTS} ssh hosts, first run:        ${first.ms.toFixed(0)} ms (connect + plan + execute + disconnect; ${first.changed} changed)`,
  );
  console.log(
    `infra files.put to ${HOSTS} ssh hosts, second run:       ${second.ms.toFixed(0)} ms (${second.ending}: connect + plan + disconnect)`,
  );
  console.log(`ratio first run / scp:  ${(first.ms / raw).toFixed(2)}x`);
  console.log(`ratio second run / scp: ${(second.ms / raw).toFixed(2)}x`);
  console.log(`ratio first run / scp 10 at a time: ${(first.ms / raw10).toFixed(2)}x`);
} finally {
  await sshd.dispose();
  await rm(local, { recursive: true, force: true });
  await rm(remote, { recursive: true, force: true });
}
