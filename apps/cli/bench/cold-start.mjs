// Cold start of `infra @local exec -- true` against `node -e ''`, alternated, N runs each.
// Prints medians and the ratio (target <= 1.5, issue #14). Never fails on a time.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const localConnector = import.meta.resolve('@infra/connector-local');
const runs = Number(process.env.BENCH_RUNS ?? 20);

function time(args) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) {
    throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const cases = {
  baseline: ['-e', ''],
  exec: [bin, '@local', 'exec', '--', 'true'],
  help: [bin, '--help'],
  connector: ['--input-type=module', '-e', `await import(${JSON.stringify(localConnector)})`],
};
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
// One warm-up each (file system cache), then alternate.
for (const args of Object.values(cases)) time(args);
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(cases)) samples[name].push(time(args));
}

const base = median(samples.baseline);
console.log(`cold start, ${runs} runs each, alternated (median ms)`);
console.log(`  node -e ''                          ${base.toFixed(1)} ms`);
for (const [name, label] of [
  ['exec', 'infra @local exec -- true'],
  ['help', 'infra --help'],
  ['connector', 'import @infra/connector-local alone'],
]) {
  const value = median(samples[name]);
  console.log(`  ${label.padEnd(36)}${value.toFixed(1)} ms  ratio ${(value / base).toFixed(2)}x`);
}
console.log('target: infra @local exec -- true <= 1.5x node -e ""');
