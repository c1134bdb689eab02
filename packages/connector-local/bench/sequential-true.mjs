// 200 sequential `true` through the connector vs 200 raw `spawn('sh', ['-c', 'true'])`,
// measured in the same run. Prints the ratio; never fails on a time.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { noSudoPassword } from '@infra/core';
import { LocalConnector } from '../dist/index.js';

const COUNT = 200;
const ROUNDS = 3;

function rawTrue() {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
}

const connector = new LocalConnector({
  name: '@local',
  data: {},
  hostData: {},
  log: { debug() {}, info() {}, warn() {} },
  sudoPassword: noSudoPassword,
});
await connector.connect();

async function viaConnector() {
  const result = await connector.runShellCommand('true');
  if (!result.success) throw new Error(`true failed: ${result.output.exitCode}`);
}

async function time(label, run) {
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) await run();
  const ms = performance.now() - start;
  return { label, ms };
}

// Warm up both paths.
for (let i = 0; i < 20; i++) {
  await rawTrue();
  await viaConnector();
}

let rawBest = Number.POSITIVE_INFINITY;
let connectorBest = Number.POSITIVE_INFINITY;
for (let round = 0; round < ROUNDS; round++) {
  const raw = await time('raw spawn', rawTrue);
  const local = await time('connector', viaConnector);
  rawBest = Math.min(rawBest, raw.ms);
  connectorBest = Math.min(connectorBest, local.ms);
  console.log(
    `round ${round + 1}: raw spawn ${raw.ms.toFixed(0)} ms, connector ${local.ms.toFixed(0)} ms (${COUNT} sequential \`true\` each)`,
  );
}
await connector.disconnect();

const ratio = connectorBest / rawBest;
console.log(
  `best of ${ROUNDS}: raw spawn ${(rawBest / COUNT).toFixed(2)} ms/command, connector ${(connectorBest / COUNT).toFixed(2)} ms/command`,
);
console.log(`ratio connector / raw spawn: ${ratio.toFixed(2)} (target <= 1.20)`);
