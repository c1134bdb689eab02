#!/usr/bin/env node
import { main } from './index.js';

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`infra-agent: ${(error as Error)?.stack ?? error}\n`);
  process.exitCode = 1;
}
