import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  type AgentFixture,
  agentMissingReason,
  allByteValues,
  freeLoopbackPort,
  notRootReason,
  peerMissing,
  RecordingLogger,
  startAgent,
  TEST_USERS,
} from '@infra/connector-testkit';
import { MaskString, sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestConnector } from '../src/index.js';
import { type BaseProtocolServer, startBaseProtocolServer } from './base-protocol-server.js';
import { connectRest } from './rest-host.js';

const execFileAsync = promisify(execFile);

const skip = peerMissing('infra-agent (REST connector)', agentMissingReason() ?? notRootReason());

async function errorOf(
  promise: Promise<unknown>,
): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Wait for a file the remote command writes (the command has started). */
async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
  if (!existsSync(path)) throw new Error(`${path} never appeared`);
}

describe.skipIf(skip !== undefined)('rest connector against the real infra-agent', () => {
  let agent: AgentFixture;
  let work: string;
  const data = () => ({
    api_url: agent.url,
    api_key: agent.token,
    api_resource_id: agent.resourceId,
  });

  beforeAll(async () => {
    agent = await startAgent({ resourceId: 'e2e-host', args: ['--max-body', '64K'] });
    work = await mkdtemp(join(tmpdir(), 'infra-rest-e2e-'));
  });

  afterAll(async () => {
    await agent?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('keeps the resource JSON and the advertised extensions after connect', async () => {
    const hostData = data();
    const connector = await connectRest(hostData);
    expect(connector.resource).toMatchObject({ id: 'e2e-host', kind: 'host' });
    expect(hostData.rest_resource).toBe(connector.resource);
    expect([...connector.extensions].sort()).toEqual([
      'execEnv',
      'execStatus',
      'execStdin',
      'execStream',
      'filesRaw',
    ]);
    await connector.disconnect();
  });

  it('says the API key was refused, and never shows it, on a wrong or missing key', async () => {
    const log = new RecordingLogger();
    const wrongKey = 'wrong-key-value-1234';
    const error = await errorOf(connectRest({ ...data(), api_key: wrongKey }, { log }));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain('API key was refused (401 Unauthorized)');
    expect(error.message).toContain(`GET ${agent.url}/resources/e2e-host`);
    expect(error.message).not.toContain(wrongKey);
    expect(String((error.cause as Error).stack)).not.toContain(wrongKey);
    expect(log.text()).not.toContain(wrongKey);

    const missing = await errorOf(connectRest({ ...data(), api_key: undefined }));
    expect(missing.message).toContain('401');
    expect(missing.message).toMatch(/Missing token/);
  });

  it('says which resource is not found (404)', async () => {
    const error = await errorOf(connectRest({ ...data(), api_resource_id: 'no-such-host' }));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain('resource "no-such-host" not found (404 Not Found)');
    expect(error.message).toContain('@rest:no-such-host');
  });

  it('says a connection was refused, and where', async () => {
    const port = await freeLoopbackPort();
    const error = await errorOf(connectRest({ ...data(), api_url: `http://127.0.0.1:${port}` }));
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`connection refused by http://127.0.0.1:${port}`);
  });

  it('gives up on a server that never answers after api_timeout, saying so', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const error = await errorOf(
        connectRest({ ...data(), api_url: `http://127.0.0.1:${port}`, api_timeout: 0.5 }),
      );
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain(`no answer from http://127.0.0.1:${port} for 0.5s`);
    } finally {
      silent.close();
    }
  });

  it('refuses a file over the advertised body limit before sending it, naming the limit', async () => {
    const connector = await connectRest(data());
    const error = await errorOf(connector.putFile(Buffer.alloc(100 * 1024), `${work}/too-big.bin`));
    expect(error.code).toBe('FILE_TRANSFER_FAILED');
    expect(error.message).toContain("over the agent's request limit of 65536 bytes");
    expect(existsSync(`${work}/too-big.bin`)).toBe(false);
    await connector.disconnect();
  });

  it('counts the base64 growth against the limit when files go as JSON', async () => {
    const connector = await connectRest({ ...data(), api_disable_extensions: ['files-raw'] });
    // Under the limit as bytes, over it as base64 JSON.
    const error = await errorOf(
      connector.putFile(Buffer.alloc(60 * 1024), `${work}/b64-too-big.bin`),
    );
    expect(error.message).toContain('base64 JSON upload would be');
    await connector.disconnect();
  });

  it('uses the base paths of the real agent when extensions are disabled', async () => {
    const connector = await connectRest({
      ...data(),
      api_disable_extensions: ['exec-stream', 'exec-stdin', 'exec-env', 'exec-status', 'files-raw'],
    });
    expect(connector.extensions.size).toBe(0);
    const result = await connector.runShellCommand('echo out; echo err >&2; exit 4', {
      successExitCodes: [4, 5],
    });
    expect(result.success).toBe(true);
    expect(result.output.stdoutLines).toEqual(['out']);
    expect(result.output.stderrLines).toEqual(['err']);
    const bytes = allByteValues();
    await connector.putFile(bytes, `${work}/base.bin`, { mode: 0o600 });
    expect(await readFile(`${work}/base.bin`)).toEqual(bytes);
    const got = join(work, 'base-copy.bin');
    await connector.getFile(`${work}/base.bin`, got);
    expect(await readFile(got)).toEqual(bytes);
    await connector.disconnect();
  });

  it('retries a failed command only when asked (retries), and sends stdin again', async () => {
    const connector = await connectRest(data());
    const counter = join(work, 'attempts');
    const flaky = sh`echo x >> ${counter}; [ $(wc -l < ${counter}) -ge 2 ] && cat`;
    const once = await connector.runShellCommand(flaky, { stdin: 'input' });
    expect(once.success).toBe(false);
    await rm(counter);
    const retried = await connector.runShellCommand(flaky, {
      stdin: 'input',
      retries: 1,
      retryDelay: 0,
    });
    expect(retried.success).toBe(true);
    expect(retried.output.stdout).toBe('input');
    expect((await readFile(counter, 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
    await connector.disconnect();
  });

  it('kills the command when the caller aborts, rejecting with the abort reason', async () => {
    const connector = await connectRest(data());
    const pidFile = join(work, 'aborted.pid');
    const controller = new AbortController();
    const running = errorOf(
      connector.runShellCommand(sh`sleep 30 & echo $! > ${pidFile}; wait`, {
        signal: controller.signal,
      }),
    );
    await waitForFile(pidFile);
    const reason = new Error('stop it');
    controller.abort(reason);
    expect(await running).toBe(reason);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    // The agent kills the group when the client goes away; poll the peer until the sleep is gone.
    const gone = await connector.runShellCommand(
      sh`i=0; while kill -0 ${pid} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; ! kill -0 ${pid} 2>/dev/null`,
    );
    expect(gone.success).toBe(true);
    await connector.disconnect();
  });

  for (const disabled of [[], ['exec-stream']]) {
    it(`gives a clear error when the agent dies mid-command (${disabled.length ? 'buffered' : 'streamed'})`, async () => {
      const doomed = await startAgent({ resourceId: 'doomed' });
      const connector = await connectRest({
        api_url: doomed.url,
        api_key: doomed.token,
        api_resource_id: 'doomed',
        api_disable_extensions: disabled,
      });
      const pidFile = join(work, `doomed-${disabled.length}.pid`);
      const running = errorOf(
        connector.runShellCommand(sh`echo $$ > ${pidFile}; echo started; sleep 30`),
      );
      await waitForFile(pidFile);
      doomed.kill('SIGKILL');
      const error = await running;
      // The orphaned command group outlives the killed agent: clean it up.
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
      expect(error.code).toBe('REST_CONNECTION_LOST');
      expect(error.message).toContain(`POST ${doomed.url}/resources/doomed/exec`);
      expect(error.message).toContain('stopped or crashed');
      expect(error.message).toContain('sleep 30');
      expect(error.message).toContain('not retried');
      await connector.disconnect();
    });
  }

  describe('TLS with a self-signed certificate', () => {
    let tlsAgent: AgentFixture;
    let certFile: string;

    beforeAll(async () => {
      certFile = join(work, 'cert.pem');
      const keyFile = join(work, 'key.pem');
      await execFileAsync('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=infra-agent test',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ]);
      tlsAgent = await startAgent({ resourceId: 'tls-host', tls: { certFile, keyFile } });
    });

    afterAll(async () => {
      await tlsAgent?.stop();
    });

    const tlsData = () => ({
      api_url: tlsAgent.url,
      api_key: tlsAgent.token,
      api_resource_id: 'tls-host',
    });

    it('works when the certificate is trusted through api_ca_file', async () => {
      expect(tlsAgent.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const connector = await connectRest({ ...tlsData(), api_ca_file: certFile });
      const result = await connector.runShellCommand('echo over tls');
      expect(result.output.stdout).toBe('over tls');
      const bytes = allByteValues();
      await connector.putFile(bytes, `${work}/tls.bin`);
      expect(await readFile(`${work}/tls.bin`)).toEqual(bytes);
      await connector.disconnect();
    });

    it('refuses the certificate otherwise, saying how to trust it', async () => {
      const error = await errorOf(connectRest(tlsData()));
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toContain('is not trusted');
      expect(error.message).toContain('api_ca_file');
    });

    it('accepts it with api_insecure_tls, with a warning', async () => {
      const log = new RecordingLogger();
      const connector = await connectRest({ ...tlsData(), api_insecure_tls: true }, { log });
      expect(
        log.messages.some((m) => m.level === 'warn' && m.message.includes('api_insecure_tls')),
      ).toBe(true);
      await connector.disconnect();
    });

    it('says so when https:// meets a plain HTTP agent', async () => {
      const error = await errorOf(
        connectRest({ ...data(), api_url: agent.url.replace('http:', 'https:') }),
      );
      expect(error.code).toBe('CONNECT_FAILED');
      expect(error.message).toMatch(/TLS handshake .* failed/);
    });
  });
});

describe.skipIf(skip !== undefined)('rest connector against a base-protocol-only server', () => {
  const token = 'base-token';
  let server: BaseProtocolServer;
  let connector: RestConnector;
  let work: string;
  let serverTmp: string;

  beforeAll(async () => {
    serverTmp = await mkdtemp(join(tmpdir(), 'infra-rest-base-tmp-'));
    await chmod(serverTmp, 0o711); // like /tmp: the become user must traverse it
    server = await startBaseProtocolServer(token, 'base host', serverTmp);
    connector = await connectRest({
      api_url: server.url,
      api_key: token,
      api_resource_id: 'base host',
    });
    work = await mkdtemp(join(tmpdir(), 'infra-rest-base-'));
  });

  afterAll(async () => {
    await connector?.disconnect();
    if (work) await rm(work, { recursive: true, force: true });
    await server?.close();
    if (serverTmp) await rm(serverTmp, { recursive: true, force: true });
  });

  it('finds no extensions and runs commands through the base exec answer', async () => {
    expect(connector.extensions.size).toBe(0);
    const result = await connector.runShellCommand('echo out; echo err >&2; exit 3', {
      successExitCodes: [0, 3],
    });
    expect(result.success).toBe(true);
    expect(result.output.exitCode).toBe(3);
    expect(result.output.stdoutLines).toEqual(['out']);
    expect(result.output.stderrLines).toEqual(['err']);
    const env = await connector.runShellCommand('printf %s "$V"', {
      env: { V: "it's $HOME" },
      chdir: work,
    });
    expect(env.output.stdout).toBe("it's $HOME");
  });

  it('moves binary files through base64 JSON, with a mode and missing parents', async () => {
    const bytes = allByteValues();
    await connector.putFile(bytes, `${work}/plain.bin`);
    expect(await readFile(`${work}/plain.bin`)).toEqual(bytes);
    await connector.putFile(bytes, `${work}/new/dir/mode.bin`, {
      mode: 0o640,
      createParents: true,
    });
    const listing = await connector.runShellCommand(sh`ls -l ${`${work}/new/dir/mode.bin`}`);
    expect(listing.output.stdout).toMatch(/^-rw-r----- /);
    const local = join(work, 'copy.bin');
    await connector.getFile(`${work}/new/dir/mode.bin`, local);
    expect(await readFile(local)).toEqual(bytes);
    const missing = await errorOf(connector.getFile(`${work}/absent.bin`, join(work, 'never.bin')));
    expect(missing.code).toBe('FILE_TRANSFER_FAILED');
    expect(missing.message).toContain('absent.bin not found (404');
  });

  it('puts and gets as a sudo user through a staged copy and base64, leaving no staging behind', async () => {
    const user = TEST_USERS.plain.name;
    await connector.runShellCommand(sh`chmod 777 ${work}`);
    const bytes = allByteValues();
    const remote = `${work}/as-plain it's.bin`;
    await connector.putFile(bytes, remote, { sudo: true, sudoUser: user, mode: 0o600 });
    const owner = await connector.runShellCommand(sh`stat -c %U:%a ${remote}`);
    expect(owner.output.stdout).toBe(`${user}:600`);
    const local = join(work, 'from-plain.bin');
    await connector.getFile(remote, local, { sudo: true, sudoUser: user });
    expect(await readFile(local)).toEqual(bytes);
    // The staging directory (made with mktemp -d in the server's TMPDIR) is gone.
    expect(await readdir(serverTmp)).toEqual([]);
  });

  it('says stdin needs the exec-stdin extension', async () => {
    const error = await errorOf(connector.runShellCommand('cat', { stdin: 'x' }));
    expect(error.message).toContain('does not advertise the exec-stdin extension');
  });

  it('refuses to put a sudo password on the command line: it needs exec-stdin', async () => {
    const secret = 'base-sudo-secret-42';
    const execsBefore = server.seen.get('POST exec') ?? 0;
    const error = await errorOf(
      connector.runShellCommand('id -un', { sudo: true, sudoPassword: new MaskString(secret) }),
    );
    expect(error.code).toBe('REST_BAD_REQUEST');
    expect(error.message).toContain('cannot send the sudo password to id -un');
    expect(error.message).not.toContain(secret);
    expect(server.seen.get('POST exec') ?? 0).toBe(execsBefore);
  });

  it('retries a GET on a dropped connection, but never an exec', async () => {
    server.dropNext(1);
    const again = await connectRest({
      api_url: server.url,
      api_key: token,
      api_resource_id: 'base host',
    });
    expect(again.resource).toMatchObject({ id: 'base host' });

    const execsBefore = server.seen.get('POST exec') ?? 0;
    server.dropNext(1);
    const error = await errorOf(again.runShellCommand('echo once'));
    expect(error.code).toBe('REST_CONNECTION_LOST');
    expect(error.message).toContain('echo once');
    expect(server.seen.get('POST exec')).toBe(execsBefore + 1);
    await again.disconnect();
  });
});
