#!/usr/bin/env node
import './v8-tiering.js';
import { main } from './main.js';

const code = await main(process.argv.slice(2));
// Done: timers or sockets that deploy code left behind do not keep infra running.
const flushed = (stream: NodeJS.WriteStream) => new Promise((done) => stream.write('', done));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
