import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

/** Wait for a file a command writes (the command has started). */
async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(path)) throw new Error(`${path} never appeared`);
}

const exec = (
  agent: AgentFixture,
  body: unknown,
  options: { token?: string | null; headers?: Record<string, string> } = {},
) =>
  call(agent, 'POST', `/resources/${agent.resourceId}/exec`, {
    ...options,
    body: JSON.stringify(body),
  });

describe.skipIf(skip !== undefined)('infra-agent (the real process)', () => {
  let agent: AgentFixture;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'infra-agent-test-'));
    agent = await startAgent({
      binPath,
      resourceId: 'agent-test',
      args: ['--max-body', '4K', '--max-output', '1K', '--max-concurrent', '2'],
    });
  });

  afterAll(async () => {
    await agent?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('answers the resource JSON with its extensions and limits', async () => {
    const answer = await call(agent, 'GET', '/resources/agent-test');
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({
      id: 'agent-test',
      kind: 'host',
      extensions: {
        'exec-stream': [1],
        'exec-stdin': [1],
        'exec-env': [1],
        'exec-status': [1],
        'files-raw': [1],
      },
      limits: { max_body_bytes: 4096, max_output_bytes: 1024, max_concurrent_commands: 2 },
    });
  });

  it('runs a command: exit code, stdout and stderr', async () => {
    const answer = await exec(agent, { command: 'echo out; echo err >&2; exit 3', timeout: 5 });
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({
      exit_code: 3,
      stdout: 'out\n',
      stderr: 'err\n',
      timed_out: false,
    });
  });

  it('refuses a missing or wrong token with 401, and runs nothing', async () => {
    const marker = join(work, 'should-not-exist');
    for (const token of [null, 'wrong-token']) {
      const answer = await exec(agent, { command: `touch ${marker}`, timeout: 5 }, { token });
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(answer.json().error).toMatch(token === null ? /Missing token/ : /Wrong token/);
    }
    const files = await call(agent, 'POST', '/resources/agent-test/files', {
      token: 'wrong-token',
      body: JSON.stringify({ path: marker, content: 'eA==', encoding: 'base64' }),
    });
    expect(files.status).toBe(401);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses a body over --max-body with 413, and runs nothing', async () => {
    const marker = join(work, 'too-big-ran');
    const answer = await exec(agent, {
      command: `touch ${marker}; : ${'x'.repeat(5000)}`,
      timeout: 5,
    });
    expect(answer.status).toBe(413);
    expect(answer.json().error).toContain('limit of 4096 bytes (--max-body)');
    const raw = await call(agent, 'PUT', `/resources/agent-test/files/${work}/raw-too-big`, {
      body: Buffer.alloc(5000),
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(raw.status).toBe(413);
    expect(existsSync(marker)).toBe(false);
    expect(await readdir(work)).toEqual([]);
    // The connection is still good for the next request.
    expect((await exec(agent, { command: 'true', timeout: 5 })).status).toBe(200);
  });

  it('answers 400 naming the field for malformed JSON, a missing field or a wrong type', async () => {
    const cases: [string, RegExp][] = [
      ['{"command": ', /not valid JSON/],
      ['[1, 2]', /must be a JSON object, got an array/],
      ['{"timeout": 5}', /Missing field "command"/],
      ['{"command": "true"}', /Missing field "timeout"/],
      ['{"command": 42, "timeout": 5}', /Field "command" must be a string, got a number/],
      [
        '{"command": "true", "timeout": "5"}',
        /Field "timeout" must be a positive number of seconds, got a string/,
      ],
      ['{"command": "true", "timeout": 5, "stdin": "not base64!"}', /Field "stdin" must be base64/],
      [
        '{"command": "true", "timeout": 5, "env": {"1BAD": "x"}}',
        /Field "env": "1BAD" is not a valid/,
      ],
    ];
    for (const [body, message] of cases) {
      const answer = await call(agent, 'POST', '/resources/agent-test/exec', { body });
      expect(answer.status, body).toBe(400);
      expect(answer.json().error, body).toMatch(message);
    }
    const files: [unknown, RegExp][] = [
      [
        { path: 'relative/path', content: '', encoding: 'base64' },
        /Field "path" must be an absolute path/,
      ],
      [{ path: `${work}/x`, content: 'eA==' }, /Missing field "encoding"/],
      [
        { path: `${work}/x`, content: 'eA==', encoding: 'utf8' },
        /Field "encoding" must be "base64", got "utf8"/,
      ],
      [
        { path: `${work}/x`, content: 7, encoding: 'base64' },
        /Field "content" must be a string, got a number/,
      ],
    ];
    for (const [body, message] of files) {
      const answer = await call(agent, 'POST', '/resources/agent-test/files', {
        body: JSON.stringify(body),
      });
      expect(answer.status).toBe(400);
      expect(answer.json().error).toMatch(message);
    }
  });

  it('answers 404 for another resource or a missing file, 405 for a wrong method', async () => {
    const other = await call(agent, 'GET', '/resources/someone-else');
    expect(other.status).toBe(404);
    expect(other.json().error).toContain('this agent serves "agent-test"');
    const file = await call(agent, 'GET', `/resources/agent-test/files/${work}/missing`);
    expect(file.status).toBe(404);
    expect(file.json().error).toContain(`${work}/missing`);
    const wrong = await call(agent, 'DELETE', '/resources/agent-test/exec');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
  });

  it('kills the whole process group of a command past its timeout with SIGKILL at once (the one kill rule)', async () => {
    const pidFile = join(work, 'timeout.pid');
    const answer = await exec(agent, {
      command: `sleep 60 & echo $! > ${pidFile}; wait`,
      timeout: 0.5,
    });
    expect(answer.status).toBe(200);
    expect(answer.json()).toMatchObject({ timed_out: true, signal: 'SIGKILL', exit_code: 137 });
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    const state = await execFileAsync('ps', ['-o', 'stat=', '-p', String(pid)]).then(
      (ps) => ps.stdout.trim(),
      () => 'gone',
    );
    expect(state === 'gone' || state.startsWith('Z')).toBe(true);
    await rm(pidFile);
  });

  it('caps buffered output with a clear truncation marker', async () => {
    const answer = await exec(agent, { command: 'yes line | head -n 1000', timeout: 5 });
    const body = answer.json();
    expect(body.truncated).toBe(true);
    expect(String(body.stdout).startsWith('line\nline\n')).toBe(true);
    expect(String(body.stdout)).toContain(
      '[infra-agent: stdout truncated: the command printed more than 1024 bytes',
    );
  });

  it('streams NDJSON events, uncapped, with stdin and env', async () => {
    const answer = await exec(
      agent,
      {
        command: 'cat; printf "%s" "$GREETING" >&2; yes line | head -n 1000 >/dev/null',
        timeout: 5,
        stdin: Buffer.from('in\n').toString('base64'),
        env: { GREETING: 'hi there' },
      },
      { headers: { Accept: 'application/x-ndjson' } },
    );
    expect(answer.headers['content-type']).toBe('application/x-ndjson');
    const events = answer.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const text = (type: string) =>
      Buffer.concat(
        events.filter((e) => e.type === type).map((e) => Buffer.from(e.data, 'base64')),
      ).toString();
    expect(text('stdout')).toBe('in\n');
    expect(text('stderr')).toBe('hi there');
    expect(events.at(-1)).toEqual({ type: 'exit', exit_code: 0, signal: null, timed_out: false });
  });

  it('refuses commands past --max-concurrent with 429', async () => {
    const started = [join(work, 'busy-1'), join(work, 'busy-2')];
    const busy = started.map((file) =>
      exec(agent, { command: `touch ${file}; sleep 1`, timeout: 5 }),
    );
    for (const file of started) await waitForFile(file);
    const third = await exec(agent, { command: 'true', timeout: 5 });
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.json().error).toContain('--max-concurrent 2');
    for (const answer of await Promise.all(busy)) expect(answer.status).toBe(200);
    for (const file of started) await rm(file);
  });

  it('writes files atomically, keeps an existing mode, and reads them back (JSON and raw)', async () => {
    const path = join(work, 'atomic.txt');
    await writeFile(path, 'old');
    await execFileAsync('chmod', ['640', path]);
    const put = await call(agent, 'POST', '/resources/agent-test/files', {
      body: JSON.stringify({
        path,
        content: Buffer.from('new').toString('base64'),
        encoding: 'base64',
      }),
    });
    expect(put.status).toBe(200);
    expect(await readFile(path, 'utf8')).toBe('new');
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect(await readdir(work)).toEqual(['atomic.txt']);

    const json = await call(agent, 'GET', `/resources/agent-test/files/${path}`);
    expect(json.json()).toEqual({ content: Buffer.from('new').toString('base64') });
    const raw = await call(agent, 'GET', `/resources/agent-test/files/${path}`, {
      headers: { Accept: 'application/octet-stream' },
    });
    expect(raw.headers['content-type']).toBe('application/octet-stream');
    expect(raw.body).toBe('new');
    const missingDir = await call(agent, 'POST', '/resources/agent-test/files', {
      body: JSON.stringify({ path: join(work, 'no-dir', 'f'), content: '', encoding: 'base64' }),
    });
    expect(missingDir.status).toBe(404);
    expect(missingDir.json().error).toContain(`${join(work, 'no-dir')} does not exist`);
  });

  it('logs one line per request without the token or the command', async () => {
    const secret = `secret-${Math.random().toString(36).slice(2)}`;
    await exec(agent, { command: `echo ${secret}`, timeout: 5, env: { S: secret } });
    const logs = agent.logs();
    expect(logs).toMatch(
      /POST \/resources\/\{id\}\/exec resource=agent-test status=200 duration=[\d.]+ms/,
    );
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(agent.token as string);
  });

  it('does not pass its token to commands', async () => {
    const answer = await exec(agent, {
      command: 'if [ -n "$INFRA_AGENT_TOKEN" ]; then echo set; else printf unset; fi',
      timeout: 5,
    });
    expect(answer.json().stdout).toBe('unset');
  });
});

describe.skipIf(skip !== undefined)('infra-agent start-up and shutdown', () => {
  const runBin = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolveRun) => {
      const child = spawn(process.execPath, [binPath, ...args], {
        env: { PATH: process.env.PATH, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('close', (code) => resolveRun({ code, stdout, stderr }));
    });

  it('documents every option in --help', async () => {
    const { code, stdout } = await runBin(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--listen',
      '--resource-id',
      '--token-file',
      '--insecure-no-auth',
      '--tls-cert',
      '--tls-key',
      '--max-body',
      '--max-output',
      '--max-concurrent',
      '--max-timeout',
      '--shutdown-timeout',
      'INFRA_AGENT_TOKEN',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it('refuses to start without a token, with a token flag, or without auth off loopback', async () => {
    const none = await runBin(['--listen', '127.0.0.1:0']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('No token: set INFRA_AGENT_TOKEN or pass --token-file');
    const flag = await runBin(['--token', 'abc']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('shows in `ps`');
    const open = await runBin(['--insecure-no-auth', '--listen', '0.0.0.0:0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toContain('only allowed on a loopback address');
  });

  it('reads the token from --token-file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infra-agent-token-'));
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, 'from-a-file\n', { mode: 0o600 });
    const agent = await startAgent({ binPath, tokenFile });
    try {
      expect(agent.token).toBe('from-a-file');
      expect((await call(agent, 'GET', `/resources/${agent.resourceId}`)).status).toBe(200);
      expect(
        (await call(agent, 'GET', `/resources/${agent.resourceId}`, { token: 'other' })).status,
      ).toBe(401);
    } finally {
      await agent.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs without a token only when told --insecure-no-auth, on loopback', async () => {
    const agent = await startAgent({ binPath, token: null });
    try {
      expect(agent.logs()).toContain('auth: NO AUTH (--insecure-no-auth)');
      expect((await exec(agent, { command: 'echo open', timeout: 5 })).json().stdout).toBe(
        'open\n',
      );
    } finally {
      await agent.stop();
    }
  });

  it('on SIGTERM stops accepting, lets a running command finish, then exits 0', async () => {
    const agent = await startAgent({ binPath, resourceId: 'shutdown-test' });
    const dir = await mkdtemp(join(tmpdir(), 'infra-agent-shutdown-'));
    const started = join(dir, 'started');
    const running = exec(agent, {
      command: `touch ${started}; sleep 0.5; echo finished`,
      timeout: 10,
    });
    await waitForFile(started);
    const stopped = agent.stop();
    const answer = await running;
    expect(answer.status).toBe(200);
    expect(answer.json().stdout).toBe('finished\n');
    expect(await stopped).toEqual({ code: 0, signal: null });
    expect(agent.logs()).toContain('SIGTERM: no new requests');
    await expect(call(agent, 'GET', '/resources/shutdown-test')).rejects.toThrow(/ECONNREFUSED/);
    await rm(dir, { recursive: true, force: true });
  });

  it('on SIGTERM kills commands still running after --shutdown-timeout', async () => {
    const agent = await startAgent({
      binPath,
      resourceId: 'shutdown-kill',
      args: ['--shutdown-timeout', '0.3'],
    });
    const dir = await mkdtemp(join(tmpdir(), 'infra-agent-shutdown-'));
    const started = join(dir, 'started');
    const running = exec(agent, { command: `touch ${started}; sleep 30`, timeout: 60 });
    await waitForFile(started);
    expect(await agent.stop()).toEqual({ code: 0, signal: null });
    const answer = await running;
    expect(answer.json()).toMatchObject({ signal: 'SIGKILL', exit_code: 137 });
    expect(agent.logs()).toContain('killing 1 command(s) still running');
    await rm(dir, { recursive: true, force: true });
  });
});
