import { execFile } from 'node:child_process';
import {
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  type AgentFixture,
  agentMissingReason,
  peerMissing,
  startAgent,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from './agent-http.js';

const execFileAsync = promisify(execFile);
const binPath = resolve(import.meta.dirname, '../dist/bin.js');
const skip = peerMissing('infra-agent', agentMissingReason(binPath));
const RAW = { Accept: 'application/octet-stream' };
const NDJSON = { Accept: 'application/x-ndjson' };

/** Resolve when the agent's log has a line matching `pattern`. */
async function logged(agent: AgentFixture, pattern: RegExp): Promise<string> {
  for (;;) {
    const line = agent
      .logs()
      .split('\n')
      .find((l) => pattern.test(l));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(skip !== undefined)('infra-agent: bounded reads, odd files, shutdown', () => {
  let agent: AgentFixture;
  let work: string;
  const file = (path: string, headers: Record<string, string> = {}) =>
    call(agent, 'GET', `/resources/bounds/files/${path}`, { headers });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'infra-agent-bounds-'));
    agent = await startAgent({ binPath, resourceId: 'bounds', args: ['--max-body', '1M'] });
  });

  afterAll(async () => {
    await agent?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses to read a device (/dev/zero) with 409, as JSON and raw, at once', async () => {
    for (const headers of [{}, RAW]) {
      const answer = await file('/dev/zero', headers);
      expect(answer.status).toBe(409);
      expect(answer.json().error).toBe(
        'Cannot read /dev/zero: it is a character device, not a regular file. The agent reads only regular files.',
      );
    }
  });

  it('refuses a named pipe with 409 instead of waiting for a writer', async () => {
    const fifo = join(work, 'pipe');
    await execFileAsync('mkfifo', [fifo]);
    for (const headers of [{}, RAW]) {
      const answer = await file(fifo, headers);
      expect(answer.status).toBe(409);
      expect(answer.json().error).toContain('it is a named pipe, not a regular file');
    }
  });

  it('streams a file whose stat size is 0 (/proc/version) whole, chunked', async () => {
    const expected = await readFile('/proc/version', 'utf8');
    expect((await stat('/proc/version')).size).toBe(0);
    const raw = await file('/proc/version', RAW);
    expect(raw.status).toBe(200);
    expect(raw.headers['content-length']).toBeUndefined();
    expect(raw.headers['transfer-encoding']).toBe('chunked');
    expect(raw.body).toBe(expected);
    const json = await file('/proc/version');
    expect(Buffer.from(json.json().content as string, 'base64').toString()).toBe(expected);
  });

  it('stops reading a file, and closes it, when the client of a raw download goes away', async () => {
    const huge = join(work, 'huge-for-a-quitter.bin');
    await writeFile(huge, '');
    await truncate(huge, 8 * 1024 * 1024 * 1024);
    const opened = async () => {
      const fds = await readdir(`/proc/${agent.pid}/fd`);
      const targets = await Promise.all(
        fds.map((fd) => readlink(`/proc/${agent.pid}/fd/${fd}`).catch(() => '')),
      );
      return targets.includes(huge);
    };
    await new Promise<void>((done) => {
      const req = request(`${agent.url}/resources/bounds/files/${huge}`, {
        headers: { Authorization: `Bearer ${agent.token}`, ...RAW },
      });
      req.on('response', (res) => {
        res.once('data', () => {
          req.destroy();
          done();
        });
      });
      req.on('error', () => {});
      req.end();
    });
    await logged(
      agent,
      /GET \/resources\/\{id\}\/files\/\{path\}.*connection closed before the answer was complete/,
    );
    while (await opened()) await new Promise((r) => setTimeout(r, 10));
    expect(await opened()).toBe(false);
  });

  it('reads a JSON download only up to --max-body, whatever stat says (413)', async () => {
    // /proc/kallsyms says 0 bytes and holds megabytes.
    const answer = await file('/proc/kallsyms');
    expect(answer.status).toBe(413);
    expect(answer.json().error).toContain('over the 1048576 bytes this agent sends as base64 JSON');
  });

  it('refuses to replace a device or a named pipe with a regular file (409)', async () => {
    const device = join(work, 'null-device');
    await execFileAsync('mknod', [device, 'c', '1', '3']);
    const fifo = join(work, 'put-pipe');
    await execFileAsync('mkfifo', [fifo]);
    for (const [path, kind] of [
      [device, 'a character device'],
      [fifo, 'a named pipe'],
    ] as const) {
      const raw = await call(agent, 'PUT', `/resources/bounds/files/${path}`, {
        body: 'bytes',
        headers: { 'Content-Type': 'application/octet-stream' },
      });
      expect(raw.status).toBe(409);
      expect(raw.json().error).toBe(
        `Cannot write ${path}: it is ${kind}, not a regular file. The agent replaces only regular files.`,
      );
      const json = await call(agent, 'POST', '/resources/bounds/files', {
        body: JSON.stringify({ path, content: 'Ynl0ZXM=', encoding: 'base64' }),
      });
      expect(json.status).toBe(409);
    }
    expect((await stat(device)).isCharacterDevice()).toBe(true);
    expect((await stat(fifo)).isFIFO()).toBe(true);
  });

  it('says a command too long to start did not run: 400, buffered and streamed', async () => {
    const command = `echo ${'x'.repeat(200_000)}`;
    for (const headers of [{}, NDJSON]) {
      const answer = await call(agent, 'POST', '/resources/bounds/exec', {
        body: JSON.stringify({ command, timeout: 5 }),
        headers,
      });
      expect(answer.status).toBe(400);
      expect(answer.json().error).toMatch(/^The command did not run: .* too long .*\(E2BIG/);
    }
  });

  it('logs an upload the client gave up on as such, and leaves no temp file', async () => {
    const dir = await mkdtemp(join(work, 'aborted-'));
    const target = join(dir, 'target.bin');
    await new Promise<void>((done) => {
      const req = request(`${agent.url}/resources/bounds/files/${target}`, {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${agent.token}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': '60000',
        },
      });
      req.on('error', () => done());
      req.write(Buffer.alloc(30_000), () => {
        // Half the body is on its way: go away.
        req.destroy();
      });
    });
    const line = await logged(agent, /PUT \/resources\/\{id\}\/files\/\{path\}.* status=none/);
    expect(line).toContain(
      '(the client went away before the answer: the upload was discarded; the file is unchanged)',
    );
    expect(await readdir(dir)).toEqual([]);
  });
});

describe.skipIf(skip !== undefined)('infra-agent killed mid-upload', () => {
  it('leaves a temp file that the next agent with the same --state-dir removes at start', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'infra-agent-state-'));
    const dir = await mkdtemp(join(tmpdir(), 'infra-agent-killed-'));
    const first = await startAgent({
      binPath,
      resourceId: 'killed',
      args: ['--state-dir', stateDir],
    });
    try {
      const req = request(`${first.url}/resources/killed/files/${join(dir, 'big.bin')}`, {
        method: 'PUT',
        headers: {
          Authorization: `Bearer ${first.token}`,
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(10 * 1024 * 1024),
        },
      });
      req.on('error', () => {});
      req.write(Buffer.alloc(1024 * 1024));
      // The agent is writing: its temp file beside the target has bytes.
      let temp: string | undefined;
      while (temp === undefined) {
        const name = (await readdir(dir)).find((n) => n.includes('.infra-agent-'));
        if (name && (await stat(join(dir, name))).size > 0) temp = name;
        else await new Promise((r) => setTimeout(r, 10));
      }
      first.kill('SIGKILL');
      await first.exited;
      req.destroy();
      expect(await readdir(dir)).toEqual([temp]);

      const next = await startAgent({
        binPath,
        resourceId: 'next',
        args: ['--state-dir', stateDir],
      });
      try {
        expect(await readdir(dir)).toEqual([]);
        expect(next.logs()).toContain(
          'removed 1 temporary file(s) left by an agent stopped mid-upload',
        );
      } finally {
        await next.stop();
      }
    } finally {
      first.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skip !== undefined)('infra-agent shutdown with requests in flight', () => {
  it('ends within its deadline, cutting a stalled download and upload, and exits 0', async () => {
    const agent = await startAgent({
      binPath,
      resourceId: 'busy',
      args: ['--shutdown-timeout', '0.5'],
    });
    const dir = await mkdtemp(join(tmpdir(), 'infra-agent-busy-'));
    try {
      const huge = join(dir, 'huge.bin');
      await writeFile(huge, '');
      await truncate(huge, 8 * 1024 * 1024 * 1024);
      // A download whose client stops reading after the first bytes.
      const download = new Promise<void>((started) => {
        const req = request(`${agent.url}/resources/busy/files/${huge}`, {
          headers: { Authorization: `Bearer ${agent.token}`, ...RAW },
        });
        req.on('response', (res) => {
          res.once('data', () => {
            res.pause();
            started();
          });
          res.on('error', () => {});
        });
        req.on('error', () => {});
        req.end();
      });
      // An upload that sends part of its body and then nothing.
      const upload = new Promise<void>((sent) => {
        const req = request(`${agent.url}/resources/busy/files/${join(dir, 'up.bin')}`, {
          method: 'PUT',
          headers: {
            Authorization: `Bearer ${agent.token}`,
            'Content-Type': 'application/octet-stream',
            'Content-Length': '1000000',
          },
        });
        req.on('error', () => {});
        req.write(Buffer.alloc(1000), () => sent());
      });
      await Promise.all([download, upload]);
      expect(await agent.stop(30_000)).toEqual({ code: 0, signal: null });
      expect(agent.logs()).toContain('stopped');
      expect((await readdir(dir)).sort()).toEqual(['huge.bin']);
    } finally {
      agent.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
