import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFakeConnectorProject, runInfra, startInfra } from './infra-process.js';

let dir: string;

beforeAll(async () => {
  // @fake:h1+h2: two hosts on this machine, each with its own name.
  dir = await makeFakeConnectorProject();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** True while a process runs (a zombie counts as gone). */
function processRuns(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether the process is gone within ~5 s of being killed (a SIGKILLed process takes a moment to exit). */
async function processEnds(pid: number): Promise<boolean> {
  for (let i = 0; i < 250 && processRuns(pid); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return !processRuns(pid);
}

/** Deploy code (as a user writes it) that waits on the file `name` in the project. */
const waitForFile = (name: string) =>
  `while (!existsSync(${JSON.stringify(join('@DIR@', name))})) await new Promise((r) => setTimeout(r, 10));`;

async function writeDeploy(name: string, code: string): Promise<void> {
  await writeFile(join(dir, name), code.replaceAll('@DIR@', dir));
}

describe('errors that escape deploy code, through the real infra binary', () => {
  it('a stray promise rejection fails its host, kills its command, and the run ends with a summary', async () => {
    await writeDeploy(
      'stray-host.ts',
      `import { existsSync } from 'node:fs';
import { deploy } from '@infra/deploy';
export default deploy(async ({ host, ops, dry }) => {
  if (host.name === 'h2') {
    await ops.server.shell({ name: 'fine', commands: 'true' });
    return;
  }
  const running = ops.server.shell({ name: 'long', commands: 'echo $$ > @DIR@/h1.pid; exec sleep 60' });
  if (!dry) {
    ${waitForFile('h1.pid')}
    Promise.reject(new Error('stray boom'));
  }
  await running;
});
`,
    );
    const result = await runInfra(['@fake:h1+h2', 'stray-host.ts', '-y'], { cwd: dir });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.code).toBe(1);
    expect(output).toMatch(/h1.*stray boom/);
    expect(output).toContain('an unhandled promise rejection');
    expect(result.stdout).toContain('1 of 2 hosts failed: h1.');
    expect(result.stdout).toMatch(/fine\s+1\s+1/);
    expect(output).not.toMatch(/\n\s+at /); // no raw stack trace
    const pid = Number((await readFile(join(dir, 'h1.pid'), 'utf8')).trim());
    expect(await processEnds(pid)).toBe(true);
  });

  it('a stray rejection no host raised fails the run: commands killed, hosts disconnected, summary', async () => {
    await writeDeploy(
      'stray-run.ts',
      `import { existsSync } from 'node:fs';
import { deploy } from '@infra/deploy';
// Module code, outside any host's work: it rejects once the command runs.
const poll = setInterval(() => {
  if (!existsSync('@DIR@/run.pid')) return;
  clearInterval(poll);
  Promise.reject(new Error('module stray'));
}, 10);
export default deploy(async ({ ops }) => {
  await ops.server.shell({ name: 'long', commands: 'echo $$ > @DIR@/run.pid; exec sleep 60' });
});
`,
    );
    const result = await runInfra(['@fake:r1', 'stray-run.ts', '-y'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("an error escaped the deploy code outside any host's work");
    expect(result.stderr).toContain(': module stray; stopping the run');
    expect(result.stdout).toContain('Stopped (an error escaped the deploy code)');
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/\n\s+at /);
    const pid = Number((await readFile(join(dir, 'run.pid'), 'utf8')).trim());
    expect(await processEnds(pid)).toBe(true);
  });

  it('a deploy waiting on a promise nothing can settle ends with a summary, not exit 13', async () => {
    await writeDeploy(
      'dead-end.ts',
      `import { deploy } from '@infra/deploy';
export default deploy(async ({ ops, dry }) => {
  await ops.server.shell({ name: 'mark', commands: 'true' });
  if (!dry) await new Promise(() => {});
});
`,
    );
    const result = await runInfra(['@fake:d1', 'dead-end.ts', '-y'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the deploy code waits for a promise nothing can settle');
    expect(result.stdout).toContain('Stopped (the deploy code can never finish)');
  });

  it('a deploy that never resolves: the second Ctrl-C stops it, as the README says', async () => {
    await writeDeploy(
      'never.ts',
      `import { deploy } from '@infra/deploy';
export default deploy(async ({ ops, dry }) => {
  await ops.server.shell({ name: 'mark', commands: 'true' });
  // Never resolves, and a timer keeps the process alive (as a stuck poll would).
  if (!dry) await new Promise(() => setInterval(() => {}, 1000));
});
`,
    );
    const child = startInfra(['@fake:n1', 'never.ts', '-y'], dir);
    let stdout = '';
    let stderr = '';
    const waiters: (() => void)[] = [];
    const collect = (into: 'out' | 'err') => (chunk: Buffer) => {
      if (into === 'out') stdout += chunk.toString();
      else stderr += chunk.toString();
      for (const waiter of [...waiters]) waiter();
    };
    child.stdout.on('data', collect('out'));
    child.stderr.on('data', collect('err'));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    /** Resolves once the output shows `text`. */
    const outputShows = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!`${stdout}${stderr}`.includes(text)) return;
          waiters.splice(waiters.indexOf(check), 1);
          resolve();
        };
        waiters.push(check);
        check();
      });
    let code: number | null;
    try {
      await outputShows('Applying');
      await outputShows('[n1] mark');
      const firstStop = outputShows('SIGINT: no new operations start');
      child.kill('SIGINT');
      await firstStop;
      child.kill('SIGINT');
      code = await closed;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    expect(code).toBe(130);
    expect(stderr).toContain('SIGINT again: killing running commands');
    expect(stdout).toMatch(/Stopped \(SIGINT received\): the table shows what ran\./);
  });
});
