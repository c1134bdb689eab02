import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notRootReason } from './peer.js';
import { type ProcessScanner, processScanner } from './process-scan.js';

/** Start a process and wait until it has printed `ready` (it has exec'd and runs). */
async function waitingProcess(argv: string[], env?: NodeJS.ProcessEnv) {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
  });
  return { stop: () => child.stdin.end('\n') };
}

describe.skipIf(notRootReason())('processScanner (as nobody)', () => {
  let scanner: ProcessScanner;
  beforeAll(async () => {
    scanner = await processScanner();
  });
  afterAll(() => scanner.dispose());

  it('finds a secret in another process’s arguments, and in the environment of a process it may read', async () => {
    const secret = `scan-test-${randomBytes(6).toString('hex')}`;
    const inArgv = await waitingProcess(['sh', '-c', `echo ready; read x # ${secret}`]);
    const inEnv = await waitingProcess(
      ['runuser', '-u', 'nobody', '--', 'sh', '-c', 'echo ready; read x'],
      { ...process.env, SCAN_TEST_VALUE: secret },
    );
    try {
      const once = await scanner.scanOnce(secret);
      expect(
        once.hits.some((hit) => hit.includes(' cmdline: sh -c echo ready; read x # <SECRET>')),
      ).toBe(true);
      expect(
        once.hits.some(
          (hit) => hit.includes(' environ: ') && hit.includes('SCAN_TEST_VALUE=<SECRET>'),
        ),
      ).toBe(true);
      const scanning = await scanner.startScanning(secret);
      const repeated = await scanning.stop();
      expect(repeated.passes).toBeGreaterThan(0);
      expect(repeated.hits.length).toBeGreaterThan(0);
      // The scanner's own secret never shows: it comes on stdin.
      const none = await scanner.scanOnce(`${secret}-not-anywhere`);
      expect(none.hits).toEqual([]);
      expect(none.readable).toBeGreaterThan(0);
    } finally {
      inArgv.stop();
      inEnv.stop();
    }
  });
});
