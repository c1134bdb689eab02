#!/usr/bin/env node
import './v8-tiering.js';
import { main } from './main.js';

// Done: timers or sockets that deploy code left behind do not keep infra running.
// (No top-level await: with it, the bundler cannot keep this file's chunks together.)
const flushed = (stream: NodeJS.WriteStream) => new Promise((done) => stream.write('', done));
void main(process.argv.slice(2)).then(async (code) => {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
});
