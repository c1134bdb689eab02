// The floor under 100 operations, for ops.mjs: what the same work costs with nothing of infra.
//   node ops-floor.mjs spawn                    100 sequential `sh -c true` (child_process.spawn)
//   node ops-floor.mjs ssh PORT USER KEYFILE    one ssh2 connection, 100 sequential `sh -c true`
//                                               channels, close; the socket tuned as
//                                               @infra/connector-ssh tunes it (Nagle off, the
//                                               writes of one tick in one writev)
// Asserts nothing; ops.mjs times the whole process.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';

const [mode, port, user, keyFile] = process.argv.slice(2);
const runs = 100;

/** As ssh-login.ts does: Nagle off, what ssh2 writes in one tick goes out in one writev. */
export function tunedSocket(port) {
  const socket = connect(Number(port), '127.0.0.1');
  socket.setNoDelay(true);
  const write = socket.write;
  let corked = false;
  socket.write = function batchedWrite(...args) {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return write.apply(this, args);
  };
  return socket;
}

function drain(child, done) {
  child.stdout.resume();
  child.stderr.resume();
  child.on('close', done);
}

if (mode === 'spawn') {
  for (let i = 0; i < runs; i++) {
    await new Promise((resolve) => drain(spawn('sh', ['-c', 'true']), resolve));
  }
} else if (mode === 'ssh') {
  const { Client } = createRequire(import.meta.resolve('@infra/connector-ssh'))('ssh2');
  const client = new Client();
  const sock = tunedSocket(port);
  await new Promise((resolve, reject) => {
    client.on('ready', resolve).on('error', reject);
    client.connect({ sock, username: user, privateKey: readFileSync(keyFile) });
  });
  for (let i = 0; i < runs; i++) {
    await new Promise((resolve, reject) =>
      client.exec('sh -c true', (error, stream) =>
        error ? reject(error) : drain(stream, resolve),
      ),
    );
  }
  client.end();
} else {
  console.error('usage: ops-floor.mjs spawn | ssh PORT USER KEYFILE');
  process.exit(2);
}
