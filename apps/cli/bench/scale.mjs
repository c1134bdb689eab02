// pnpm bench: one operation on 100, 300 and 1000 ssh hosts (names for one loopback sshd with
// OpenSSH's default MaxStartups 10:30:100), and 100 targets behind one bastion (also default).
// For each: wall time, the controller's CPU time and peak memory per host, hosts failed,
// connections the bastion accepted. Where pyinfra is set up (../../shared/peers.md:
// INFRA_BENCH_PYINFRA, else /tmp/pyinfra/pyinfra), the same inventories go through it in the
// same run and the ratios are printed. Asserts nothing.
//
// BENCH_SCALE_HOSTS=100,300 picks the sizes; BENCH_SCALE_BASTION=0 skips the bastion case;
// BENCH_SCALE_PYINFRA=0 skips pyinfra; BENCH_SCALE_CPU_PROF=DIR writes a --cpu-prof per infra run;
// BENCH_SCALE_DEBUG=1 prints what pyinfra printed. The ssh2 floor (ssh2-floor.mjs: bare ssh2
// connections to the same sshd) is measured in the same run: per-host CPU against it is a
// ratio that holds on a loaded machine, where the absolute figures do not.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshdMissingReason, startSshd, TEST_USERS } from '@infra/connector-testkit';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const sizes = (process.env.BENCH_SCALE_HOSTS ?? '100,300,1000')
  .split(',')
  .filter(Boolean)
  .map(Number);
const bastionTargets = Number(process.env.BENCH_SCALE_BASTION ?? 100);
const cpuProfDir = process.env.BENCH_SCALE_CPU_PROF;
const pyinfraBin =
  process.env.BENCH_SCALE_PYINFRA === '0'
    ? undefined
    : [process.env.INFRA_BENCH_PYINFRA, '/tmp/pyinfra/pyinfra'].find((p) => p && existsSync(p));
const user = TEST_USERS.plain.name;

const missing = sshdMissingReason();
if (missing) {
  console.error(`scale bench: cannot run: ${missing}`);
  process.exit(1);
}
if (!existsSync('/usr/bin/time')) {
  console.error('scale bench: cannot run: /usr/bin/time is missing (Debian: apt-get install time)');
  process.exit(1);
}

// Both with OpenSSH's default MaxStartups (10:30:100) and MaxSessions (10).
const target = await startSshd();
const bastion = await startSshd({ keysFrom: target });
const dir = await mkdtemp(join(tmpdir(), 'infra-scale-bench-'));
const key = target.clientKey.privateKeyPath;

const knownHosts = await target.writeKnownHosts('known_hosts.scale', [
  `[127.0.0.1]:${target.port} ${target.hostPublicKey}`,
  `[127.0.0.1]:${bastion.port} ${bastion.hostPublicKey}`,
]);
const sshConfig = join(dir, 'ssh_config');
await writeFile(
  sshConfig,
  [
    'Host bastion',
    '  HostName 127.0.0.1',
    `  Port ${bastion.port}`,
    `  User ${user}`,
    `  IdentityFile ${key}`,
    `  UserKnownHostsFile ${knownHosts}`,
    'Host behind-*',
    '  HostName 127.0.0.1',
    `  Port ${target.port}`,
    `  User ${user}`,
    `  IdentityFile ${key}`,
    `  UserKnownHostsFile ${knownHosts}`,
    '  ProxyJump bastion',
    '',
  ].join('\n'),
);
await writeFile(
  join(dir, 'deploy.ts'),
  "import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  await ops.server.shell({ name: 'true', commands: 'true' });\n});\n",
);
await writeFile(
  join(dir, 'deploy.py'),
  "from pyinfra.operations import server\n\nserver.shell(name='true', commands=['true'])\n",
);

/** Host data both tools understand (pyinfra's names). */
function hostData(name, viaBastion) {
  const common = {
    ssh_user: user,
    ssh_key: key,
    ssh_known_hosts_file: knownHosts,
    ssh_strict_host_key_checking: 'yes',
  };
  return viaBastion
    ? { ...common, ssh_hostname: name, ssh_config_file: sshConfig }
    : { ...common, ssh_hostname: '127.0.0.1', ssh_port: target.port };
}

async function writeInventories(label, count, viaBastion) {
  const hosts = Array.from({ length: count }, (_, i) => {
    const name = viaBastion ? `behind-${i}` : `h${i}`;
    return [name, hostData(name, viaBastion)];
  });
  const infraFile = join(dir, `${label}.json`);
  const infraHosts = hosts.map(([name, data]) => [name, { ...data, ssh_allow_agent: false }]);
  await writeFile(infraFile, JSON.stringify({ hosts: infraHosts }));
  const pyFile = join(dir, `${label}.py`);
  const pyHosts = hosts.map(([name, data]) => `(${JSON.stringify(name)}, ${JSON.stringify(data)})`);
  await writeFile(pyFile, `hosts = [\n${pyHosts.join(',\n')},\n]\n`);
  return { infraFile, pyFile };
}

/** Run under /usr/bin/time: wall ms (ours), CPU ms (user + system, children included), peak RSS KB. */
function measure(file, args) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'BENCH-TIME %U %S %M', file, ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      const timing = /BENCH-TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      if (!timing) return reject(new Error(`${file} gave no timing (exit ${code}): ${stderr}`));
      resolve({
        code,
        stdout,
        stderr,
        wallMs,
        cpuMs: (Number(timing[1]) + Number(timing[2])) * 1000,
        sysMs: Number(timing[2]) * 1000,
        peakKb: Number(timing[3]),
      });
    });
  });
}

const bastionConnections = () =>
  readFileSync(bastion.logFile, 'utf8')
    .split('\n')
    .filter((line) => line.includes('Connection from')).length;

async function runInfra(label, count, files) {
  const before = bastionConnections();
  const prof = cpuProfDir
    ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-name', `infra-${label}.cpuprofile`]
    : [];
  const result = await measure(process.execPath, [
    ...prof,
    bin,
    files.infraFile,
    join(dir, 'deploy.ts'),
    '-y',
  ]);
  const failedLine = /(\d+) of \d+ hosts failed/.exec(result.stdout);
  const failed = failedLine ? Number(failedLine[1]) : result.code === 0 ? 0 : count;
  if (result.code !== 0 && !failedLine) console.error(result.stderr.slice(-2000));
  return { ...result, failed, bastion: bastionConnections() - before };
}

async function runPyinfra(count, files) {
  const before = bastionConnections();
  const result = await measure(pyinfraBin, ['-y', files.pyFile, join(dir, 'deploy.py')]);
  // pyinfra prints "[name] Connected" for each host it reached, and "Success" per host op.
  const output = result.stdout + result.stderr;
  if (process.env.BENCH_SCALE_DEBUG) console.error(output);
  const connected = (output.match(/\] Connected/g) ?? []).length;
  const ok = (output.match(/\] Success/g) ?? []).length;
  return {
    ...result,
    failed: count - Math.min(connected, ok),
    bastion: bastionConnections() - before,
  };
}

const cases = [
  { label: 'base-1', count: 1, viaBastion: false },
  ...sizes.map((count) => ({ label: `hosts-${count}`, count, viaBastion: false })),
  ...(bastionTargets > 0
    ? [{ label: `bastion-${bastionTargets}`, count: bastionTargets, viaBastion: true }]
    : []),
];

/** The floor: bare ssh2 connections (ssh2-floor.mjs), CPU per connection in the same run. */
function runSsh2Floor(count) {
  return new Promise((resolve, reject) => {
    const floor = fileURLToPath(new URL('./ssh2-floor.mjs', import.meta.url));
    const child = spawn(process.execPath, [floor, target.port, user, key, count], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`ssh2 floor exited ${code}`)),
    );
  });
}

const rows = [];
let floor;
try {
  // A warm-up of each tool (the file cache, infra's transpiled deploy file), not counted.
  const warmUp = await writeInventories('warm-up', 1, false);
  await runInfra('warm-up', 1, warmUp);
  if (pyinfraBin) await runPyinfra(1, warmUp);
  for (const { label, count, viaBastion } of cases) {
    const files = await writeInventories(label, count, viaBastion);
    const infra = await runInfra(label, count, files);
    const py = pyinfraBin ? await runPyinfra(count, files) : undefined;
    rows.push({ label, count, viaBastion, infra, py });
    console.error(`scale bench: ${label} done`);
  }
  if (sizes.length > 0) floor = await runSsh2Floor(Math.min(300, Math.max(...sizes)));
} finally {
  await bastion.dispose();
  await target.dispose();
  await rm(dir, { recursive: true, force: true });
}

const base = rows.find((row) => row.label === 'base-1');
const ms = (value) => `${value.toFixed(value < 10 ? 2 : 0)} ms`;
const mb = (kb) => `${(kb / 1024).toFixed(2)} MB`;
const perHost = (run, count, one) => ({
  cpu: run.cpuMs / count,
  peak: run.peakKb / count,
  // Beyond what the same tool spends on one host (start-up, module loading).
  cpuAdded: (run.cpuMs - one.cpuMs) / Math.max(1, count - 1),
  peakAdded: (run.peakKb - one.peakKb) / Math.max(1, count - 1),
});

console.log(
  `scale bench: 1 server.shell op per host, sshd and bastion with OpenSSH's default MaxStartups; ${pyinfraBin ? `pyinfra ${pyinfraBin}` : 'pyinfra not set up'}`,
);
console.log(
  'case          tool      wall       CPU/host   (sys)  +CPU/host  peak/host  +peak/host  failed  bastion conns',
);
for (const row of rows) {
  for (const [tool, run] of [
    ['infra', row.infra],
    ['pyinfra', row.py],
  ]) {
    if (!run) continue;
    const p = perHost(run, row.count, tool === 'infra' ? base.infra : base.py);
    console.log(
      [
        row.label.padEnd(13),
        tool.padEnd(9),
        `${(run.wallMs / 1000).toFixed(2)} s`.padEnd(10),
        ms(p.cpu).padEnd(10),
        `${Math.round((100 * run.sysMs) / run.cpuMs)}%`.padEnd(6),
        (row.count > 1 ? ms(p.cpuAdded) : '-').padEnd(10),
        mb(p.peak).padEnd(10),
        (row.count > 1 ? mb(p.peakAdded) : '-').padEnd(11),
        `${run.failed}/${row.count}`.padEnd(7),
        row.viaBastion ? String(run.bastion) : '-',
      ].join(' '),
    );
  }
  if (row.py) {
    console.log(
      `${''.padEnd(13)} ratio infra/pyinfra: wall ${(row.infra.wallMs / row.py.wallMs).toFixed(2)}x, CPU ${(row.infra.cpuMs / row.py.cpuMs).toFixed(2)}x, peak memory ${(row.infra.peakKb / row.py.peakKb).toFixed(2)}x`,
    );
  }
}
if (floor) {
  const perConnection = floor.cpuMs / floor.count;
  console.log(
    `ssh2 floor: ${ms(perConnection)} CPU per connection (bare ssh2: connect, key exchange, login, exec true, close; ${floor.count} connections, ${floor.failed} failed)`,
  );
  for (const row of rows.filter((r) => r.count > 1 && !r.viaBastion)) {
    const added = perHost(row.infra, row.count, base.infra).cpuAdded;
    console.log(
      `  ${row.label}: infra +CPU/host / ssh2 floor = ${(added / perConnection).toFixed(2)}x`,
    );
  }
}
console.log(
  'targets: <= 3 ms controller CPU and <= 0.2 MB per host, 0 failed at 1000 hosts, <= 2 bastion connections for 100 targets',
);
console.log('(+CPU/host, +peak/host: beyond the same tool on 1 host, divided by the extra hosts)');
