#!/usr/bin/env node
import { main } from './index.js';

let code = 1;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`infra-agent: ${(error as Error)?.stack ?? error}\n`);
}
// Exit now: nothing still open past the shutdown deadline keeps the agent alive.
process.exit(code);
