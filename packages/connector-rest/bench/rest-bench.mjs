// pnpm bench: the REST connector against a local infra-agent, with baselines measured in the same run.
//   1. 200 sequential execs over REST vs 200 local spawns of the same command.
//   2. a 64 MiB file put + get as base64 JSON (base protocol) vs the files-raw extension.
// Prints times and ratios; asserts nothing.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { buildConnectorData, noSudoPassword } from '@infra/core';
import { RestConnector } from '../dist/index.js';

const EXECS = 200;
const FILE_BYTES = 64 * 1024 * 1024;

function startAgent(token) {
  const require = createRequire(import.meta.url);
  const bin = join(dirname(require.resolve('@infra/agent/package.json')), 'dist/bin.js');
  const child = spawn(
    process.execPath,
    [
      bin,
      '--listen',
      '127.0.0.1:0',
      '--resource-id',
      'bench',
      '--max-body',
      '256M',
      '--max-output',
      '1M',
    ],
    { env: { ...process.env, INFRA_AGENT_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let log = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text) => {
      log += text;
      const match = /listening on (\S+)/.exec(log);
      if (match) resolve({ child, url: match[1] });
    });
    child.once('exit', (code) =>
      reject(new Error(`infra-agent exited (${code}) before listening:\n${log}`)),
    );
  });
}

async function connect(url, token, extra = {}) {
  const hostData = { api_url: url, api_key: token, api_resource_id: 'bench', ...extra };
  const connector = new RestConnector({
    name: '@rest:bench',
    data: buildConnectorData('rest', RestConnector.dataMeta, hostData),
    hostData,
    log: { debug() {}, info() {}, warn() {} },
    sudoPassword: noSudoPassword,
  });
  await connector.connect();
  return connector;
}

function localSpawn() {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'true'], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', resolve);
  });
}

async function time(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

class Sink extends Writable {
  size = 0;
  _write(chunk, _encoding, callback) {
    this.size += chunk.length;
    callback();
  }
}

const token = randomBytes(24).toString('base64url');
const { child, url } = await startAgent(token);
const work = await mkdtemp(join(tmpdir(), 'infra-rest-bench-'));
try {
  const connector = await connect(url, token);
  for (let i = 0; i < 10; i++) await connector.runShellCommand('true');
  for (let i = 0; i < 10; i++) await localSpawn();

  const restMs = await time(async () => {
    for (let i = 0; i < EXECS; i++) {
      const result = await connector.runShellCommand('true');
      if (!result.success) throw new Error('exec failed');
    }
  });
  const localMs = await time(async () => {
    for (let i = 0; i < EXECS; i++) await localSpawn();
  });
  console.log(
    `${EXECS} sequential execs over REST: ${restMs.toFixed(0)} ms (${(restMs / EXECS).toFixed(2)} ms each)`,
  );
  console.log(
    `${EXECS} local spawns (sh -c true):  ${localMs.toFixed(0)} ms (${(localMs / EXECS).toFixed(2)} ms each)`,
  );
  console.log(`  ratio REST / local spawn: ${(restMs / localMs).toFixed(2)}x`);

  const content = randomBytes(FILE_BYTES);
  const base64 = await connect(url, token, { api_disable_extensions: ['files-raw'] });
  const remote = join(work, 'big.bin');
  const transfer = async (c) => {
    const put = await time(() => c.putFile(content, remote));
    const sink = new Sink();
    const get = await time(() => c.getFile(remote, sink));
    if (sink.size !== FILE_BYTES) throw new Error(`got ${sink.size} bytes, expected ${FILE_BYTES}`);
    return { put, get };
  };
  await transfer(connector); // warm up
  const json = await transfer(base64);
  const raw = await transfer(connector);
  const mib = FILE_BYTES / 1024 / 1024;
  console.log(
    `${mib} MiB put / get as base64 JSON: ${json.put.toFixed(0)} ms / ${json.get.toFixed(0)} ms`,
  );
  console.log(
    `${mib} MiB put / get raw (files-raw): ${raw.put.toFixed(0)} ms / ${raw.get.toFixed(0)} ms`,
  );
  console.log(
    `  ratio base64 / raw: put ${(json.put / raw.put).toFixed(2)}x, get ${(json.get / raw.get).toFixed(2)}x, total ${((json.put + json.get) / (raw.put + raw.get)).toFixed(2)}x`,
  );
  await connector.disconnect();
  await base64.disconnect();
} finally {
  child.kill('SIGTERM');
  await rm(work, { recursive: true, force: true });
}
