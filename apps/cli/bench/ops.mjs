// pnpm bench: the cost of an operation through the CLI. 100 server.shell ops on @local and on
// one ssh host (a loopback sshd), against the CLI's cold start (`infra @local exec -- true`),
// alternated, median of BENCH_RUNS (5) runs after a warm-up. Wall time and the CPU time of
// the whole process tree. The floors run in the same rounds (ops-floor.mjs: 100 raw spawns of
// `sh -c true`, 100 execs on one bare ssh2 connection), so each figure is also a ratio to what
// the same work costs without infra, which holds on a loaded machine. pyinfra runs the same
// deploys when set up (see scale.mjs). Asserts nothing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshdMissingReason, startSshd, TEST_USERS } from '@infra/connector-testkit';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const floor = fileURLToPath(new URL('./ops-floor.mjs', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const pyinfraBin =
  process.env.BENCH_SCALE_PYINFRA === '0'
    ? undefined
    : [process.env.INFRA_BENCH_PYINFRA, '/tmp/pyinfra/pyinfra'].find((p) => p && existsSync(p));
const missing = sshdMissingReason();
if (missing || !existsSync('/usr/bin/time')) {
  console.error(`ops bench: cannot run: ${missing ?? '/usr/bin/time is missing'}`);
  process.exit(1);
}

const sshd = await startSshd();
const dir = await mkdtemp(join(tmpdir(), 'infra-ops-bench-'));
const user = TEST_USERS.plain.name;
const data = {
  ssh_hostname: '127.0.0.1',
  ssh_port: sshd.port,
  ssh_user: user,
  ssh_key: sshd.clientKey.privateKeyPath,
  ssh_known_hosts_file: sshd.knownHostsFile,
  ssh_strict_host_key_checking: 'yes',
};
await writeFile(
  join(dir, 'deploy.ts'),
  "import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  for (let i = 0; i < 100; i++) await ops.server.shell({ name: 'op ' + i, commands: 'true' });\n});\n",
);
await writeFile(
  join(dir, 'deploy.py'),
  "from pyinfra.operations import server\n\nfor i in range(100):\n    server.shell(name=f'op {i}', commands=['true'])\n",
);
await writeFile(
  join(dir, 'ssh.json'),
  JSON.stringify({ hosts: [['ssh1', { ...data, ssh_allow_agent: false }]] }),
);
await writeFile(join(dir, 'ssh.py'), `hosts = [("ssh1", ${JSON.stringify(data)})]\n`);
await writeFile(join(dir, 'local.py'), 'hosts = ["@local"]\n');

function measure(file, args) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', 'BENCH-TIME %U %S', file, ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      const timing = /BENCH-TIME ([\d.]+) ([\d.]+)/.exec(stderr);
      if (code !== 0 || !timing) return reject(new Error(`${file} ${args.join(' ')}: ${stderr}`));
      resolve({ wallMs, cpuMs: (Number(timing[1]) + Number(timing[2])) * 1000 });
    });
  });
}

const cases = {
  'node -e 0': () => measure(process.execPath, ['-e', '0']),
  'floor: 100 spawns (node)': () => measure(process.execPath, [floor, 'spawn']),
  'floor: 100 execs, 1 ssh2 connection': () =>
    measure(process.execPath, [
      floor,
      'ssh',
      String(sshd.port),
      user,
      sshd.clientKey.privateKeyPath,
    ]),
  'infra cold start (@local exec -- true)': () =>
    measure(process.execPath, [bin, '@local', 'exec', '--', 'true']),
  'infra 100 ops @local': () =>
    measure(process.execPath, [bin, '@local', join(dir, 'deploy.ts'), '-y']),
  'infra 100 ops on 1 ssh host': () =>
    measure(process.execPath, [bin, join(dir, 'ssh.json'), join(dir, 'deploy.ts'), '-y']),
  ...(pyinfraBin
    ? {
        'pyinfra 100 ops @local': () =>
          measure(pyinfraBin, ['-y', join(dir, 'local.py'), join(dir, 'deploy.py')]),
        'pyinfra 100 ops on 1 ssh host': () =>
          measure(pyinfraBin, ['-y', join(dir, 'ssh.py'), join(dir, 'deploy.py')]),
      }
    : {}),
};
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
try {
  for (const run of Object.values(cases)) await run(); // warm-up: file cache, transpiled deploy file
  for (let i = 0; i < runs; i++) {
    for (const [name, run] of Object.entries(cases)) samples[name].push(await run());
  }
} finally {
  await sshd.dispose();
  await rm(dir, { recursive: true, force: true });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const result = Object.fromEntries(
  Object.entries(samples).map(([name, list]) => [
    name,
    { wall: median(list.map((s) => s.wallMs)), cpu: median(list.map((s) => s.cpuMs)) },
  ]),
);
console.log(`operations through the CLI, median of ${runs} runs (wall / CPU of the process tree)`);
for (const [name, value] of Object.entries(result)) {
  console.log(
    `  ${name.padEnd(40)} ${value.wall.toFixed(0).padStart(6)} ms  ${value.cpu.toFixed(0).padStart(5)} ms CPU`,
  );
}
const node = result['node -e 0'];
const spawnFloor = result['floor: 100 spawns (node)'];
const sshFloor = result['floor: 100 execs, 1 ssh2 connection'];
const cold = result['infra cold start (@local exec -- true)'];
const local = result['infra 100 ops @local'];
const ssh = result['infra 100 ops on 1 ssh host'];
const localBeyond = local.wall - cold.wall;
const spawnBeyond = spawnFloor.wall - node.wall;
console.log(
  `  100 ops @local beyond the cold start: ${localBeyond.toFixed(0)} ms wall (target <= 250 ms), ${(local.cpu - cold.cpu).toFixed(0)} ms CPU`,
);
console.log(
  `    floor, 100 raw spawns beyond node -e 0: ${spawnBeyond.toFixed(0)} ms wall, ${(spawnFloor.cpu - node.cpu).toFixed(0)} ms CPU; infra/floor ${(localBeyond / spawnBeyond).toFixed(2)}x wall`,
);
console.log(`  100 ops over ssh, total: ${ssh.wall.toFixed(0)} ms wall (target < 500 ms)`);
console.log(
  `    floor, bare ssh2 (connect, 100 execs of sh -c true): ${sshFloor.wall.toFixed(0)} ms wall, ${sshFloor.cpu.toFixed(0)} ms CPU; infra/floor ${(ssh.wall / sshFloor.wall).toFixed(2)}x wall`,
);
console.log(
  `  cold start: ${(cold.wall / node.wall).toFixed(2)}x node -e 0 (target <= 1.5x; cold-start.mjs measures it with more runs)`,
);
for (const [name, ours] of [
  ['@local', local],
  ['on 1 ssh host', ssh],
]) {
  const theirs = result[`pyinfra 100 ops ${name}`];
  if (theirs) {
    console.log(
      `  ratio infra/pyinfra, 100 ops ${name}: wall ${(ours.wall / theirs.wall).toFixed(2)}x, CPU ${(ours.cpu / theirs.cpu).toFixed(2)}x`,
    );
  }
}
