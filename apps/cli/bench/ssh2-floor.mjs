// The floor under infra's per-host cost, for scale.mjs: N connections with bare ssh2 (what
// @infra/connector-ssh uses), each: TCP connect with Nagle off, key exchange, public-key login,
// one `exec true`, close; at most 8 at once (under sshd's default MaxStartups). Prints this
// process's CPU time for the connections (start-up excluded) as JSON. Asserts nothing.
// Usage: node ssh2-floor.mjs PORT USER KEYFILE COUNT
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';

const [port, user, keyFile, count] = process.argv.slice(2);
const { Client } = createRequire(import.meta.resolve('@infra/connector-ssh'))('ssh2');
const privateKey = readFileSync(keyFile);

function once() {
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), '127.0.0.1');
    sock.setNoDelay(true);
    const client = new Client();
    client.on('error', reject);
    client.on('ready', () =>
      client.exec('true', (error, stream) => {
        if (error) return reject(error);
        stream.resume();
        stream.stderr.resume();
        stream.on('close', () => {
          client.end();
          resolve();
        });
      }),
    );
    client.connect({ sock, username: user, privateKey });
  });
}

const total = Number(count);
let next = 0;
let failed = 0;
const start = process.cpuUsage();
const worker = async () => {
  while (next < total) {
    next++;
    await once().catch(() => failed++);
  }
};
await Promise.all(Array.from({ length: 8 }, worker));
const used = process.cpuUsage(start);
console.log(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, count: total, failed }));
