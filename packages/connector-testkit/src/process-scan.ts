import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What another user sees: every `/proc/PID/cmdline` and `/proc/PID/environ` it
 * may read, searched for a secret (given on stdin, never as an argument). Run as
 * `nobody`, from a directory outside the clone (a clone may live in a 0700 folder).
 * With `--until-stdin-ends`, it scans again and again until its stdin closes.
 */
const SCANNER = `
import { readdirSync, readFileSync } from 'node:fs';
const repeat = process.argv.includes('--until-stdin-ends');
const hits = new Set();
let secret;
let pending = Buffer.alloc(0);
let open = true;
let readable = 0;
let passes = 0;
function scan() {
  for (const pid of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid) || pid === String(process.pid)) continue;
    for (const file of ['cmdline', 'environ']) {
      let data;
      try { data = readFileSync('/proc/' + pid + '/' + file); } catch { continue; }
      readable++;
      if (data.includes(secret)) {
        let comm = '?';
        try { comm = readFileSync('/proc/' + pid + '/comm', 'utf8').trim(); } catch {}
        const text = secret.toString('utf8');
        const shown = file === 'cmdline'
          ? data.toString('utf8').split('\\0').join(' ')
          : data.toString('utf8').split('\\0').filter((entry) => entry.includes(text)).join(' ');
        hits.add(pid + ' (' + comm + ') ' + file + ': ' + shown.split(text).join('<SECRET>').slice(0, 500));
      }
    }
  }
  passes++;
}
function done() {
  process.stdout.write(JSON.stringify({ readable, passes, hits: [...hits] }) + '\\n');
}
function loop() {
  scan();
  if (open) setImmediate(loop);
  else done();
}
process.stdin.on('data', (chunk) => {
  if (secret !== undefined) return;
  pending = Buffer.concat([pending, chunk]);
  const newline = pending.indexOf(10);
  if (newline <= 0) return;
  secret = pending.subarray(0, newline);
  if (!repeat) {
    scan();
    done();
    return;
  }
  process.stdout.write('scanning\\n');
  setImmediate(loop);
});
process.stdin.on('end', () => { open = false; });
`;

export interface ProcessScanResult {
  /** How many cmdline / environ files the user could read (over all passes). */
  readable: number;
  passes: number;
  /** `PID (comm) cmdline|environ: text` for each process that showed the secret. */
  hits: string[];
}

/** The scanner script, written once per test file to a fresh directory outside the clone. */
async function scannerFile(): Promise<{ path: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-process-scan-'));
  await chmod(dir, 0o755);
  const path = join(dir, 'scan.mjs');
  await writeFile(path, SCANNER, { mode: 0o644 });
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A scan of every process as another user (default `nobody`, through `runuser`;
 * needs root). `scanOnce(secret)` looks once; `startScanning(secret)` keeps
 * looking until `stop()`, for steps whose processes live only briefly.
 */
export async function processScanner(user = 'nobody') {
  const file = await scannerFile();
  const start = (secret: string, repeat: boolean) => {
    const child = spawn(
      'runuser',
      ['-u', user, '--', process.execPath, file.path, ...(repeat ? ['--until-stdin-ends'] : [])],
      { stdio: ['pipe', 'pipe', 'pipe'], cwd: '/' },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    const result = new Promise<ProcessScanResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        const last = stdout.trim().split('\n').pop() ?? '';
        if (code !== 0 || !last.startsWith('{')) {
          reject(new Error(`the process scan as ${user} failed (exit ${code}): ${stderr}`));
          return;
        }
        resolve(JSON.parse(last) as ProcessScanResult);
      });
    });
    child.stdin.write(`${secret}\n`);
    return { child, result, output: () => stdout };
  };
  return {
    scanOnce(secret: string): Promise<ProcessScanResult> {
      const { child, result } = start(secret, false);
      child.stdin.end();
      return result;
    },
    /** Resolves once the scanner runs; `stop()` ends it and gives what it saw. */
    async startScanning(secret: string): Promise<{ stop: () => Promise<ProcessScanResult> }> {
      const { child, result, output } = start(secret, true);
      await new Promise<void>((resolve, reject) => {
        const onData = () => {
          if (output().includes('scanning\n')) {
            child.stdout.off('data', onData);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        result.catch(reject);
      });
      return {
        stop: () => {
          child.stdin.end();
          return result;
        },
      };
    },
    dispose: file.dispose,
  };
}

export type ProcessScanner = Awaited<ReturnType<typeof processScanner>>;
