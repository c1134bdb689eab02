// A deploy of 100 server.shell operations on @local, against 100 raw spawns of
// `sh -c true`, measured in the same run. Prints the ratio; asserts nothing.
import { spawn } from 'node:child_process';
import LocalConnector from '@infra/connector-local';
import { deployContext, runHosts } from '../dist/index.js';

const COUNT = 100;

function spawnOnce() {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'true'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', resolve);
  });
}

async function rawSpawns() {
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) await spawnOnce();
  return performance.now() - start;
}

async function deployRun() {
  const log = { debug() {}, info() {}, warn() {} };
  const connector = new LocalConnector({
    name: '@local',
    data: {},
    hostData: {},
    log,
    sudoPassword: { get: () => Promise.reject(new Error('no sudo in the bench')) },
  });
  const start = performance.now();
  await runHosts({
    hosts: [{ name: '@local', groups: [], hostData: {}, connector }],
    task: async (session) => {
      const { ops } = deployContext(session);
      for (let i = 0; i < COUNT; i++) await ops.server.shell({ commands: 'true' });
    },
  });
  return performance.now() - start;
}

await rawSpawns();
await deployRun();
const raw = await rawSpawns();
const deployed = await deployRun();
console.log(`${COUNT} raw spawns of sh -c true:          ${raw.toFixed(0)} ms`);
console.log(
  `deploy of ${COUNT} server.shell ops (@local): ${deployed.toFixed(0)} ms (plan + execute)`,
);
console.log(`ratio deploy / raw: ${(deployed / raw).toFixed(2)}x`);
