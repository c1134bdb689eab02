import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freeLoopbackPort,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { DOWNLOAD_CONTENT, DOWNLOAD_SHA, FILES_OPERATIONS, filesDeploy } from './common-deploy.js';
import { run, serveFile, sshHost, statuses } from './hosts.js';

const skip = peerMissing('sshd', sshdMissingReason());

describe.skipIf(skip !== undefined)('deploys on @ssh (OpenSSH sshd on loopback)', () => {
  let sshd: SshdFixture;
  let dir: string;
  let remote: string;
  let server: Awaited<ReturnType<typeof serveFile>>;

  beforeAll(async () => {
    sshd = await startSshd({ maxStartups: '50:30:100' });
    dir = await mkdtemp(join(tmpdir(), 'infra-deploy-ssh-'));
    // The deploy (as the sudo test user) makes this itself; root only picks the name.
    remote = `${dir}-remote`;
    server = await serveFile(DOWNLOAD_CONTENT);
  });

  afterAll(async () => {
    await sshd?.dispose();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
    if (remote) await rm(remote, { recursive: true, force: true });
  });

  it('file operations change the host once, then report no change; --dry changes nothing', async () => {
    const src = join(dir, 'src.txt');
    await writeFile(src, 'put over sftp\n');
    const fn = filesDeploy({ root: remote, src, fetched: dir, downloadUrl: server.url });

    const dry = await run(fn, [sshHost(sshd, 'web1', { port: 8443 })], { dry: true });
    expect(dry.ending).toBe('dry');
    expect(statuses(dry.planned)).toEqual(FILES_OPERATIONS.map((op) => `${op}:changed`));
    await expect(stat(remote)).rejects.toThrow(/ENOENT/);
    expect(server.hits()).toBe(0);

    const first = await run(fn, [sshHost(sshd, 'web1', { port: 8443 })]);
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual(FILES_OPERATIONS.map((op) => `${op}:changed`));
    // The host's curl fetched it (auto: the host has curl).
    expect(first.executed.find((r) => r.operation === 'files.download')?.commands[0]).toContain(
      'curl -fsSL',
    );
    const sudoUid = (await stat(join(remote, 'put.txt'))).uid;
    expect(sudoUid).not.toBe(0);
    expect((await stat(remote)).mode & 0o777).toBe(0o750);
    expect((await stat(join(remote, 'put.txt'))).mode & 0o777).toBe(0o640);
    expect((await stat(join(remote, 'dl/file.bin'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(remote, 'dl/file.bin'))).toEqual(DOWNLOAD_CONTENT);
    expect(await readFile(join(remote, 'sub/tpl.txt'), 'utf8')).toBe('host=web1 port=8443\n');
    expect(await readFile(join(remote, 'lines.txt'), 'utf8')).toBe('port=80\n');
    expect(await readlink(join(remote, 'link'))).toBe('put.txt');
    expect(await readFile(join(dir, 'web1.txt'), 'utf8')).toBe('put over sftp\n');

    const second = await run(fn, [sshHost(sshd, 'web1', { port: 8443 })]);
    expect(second.ending).toBe('nothing-to-do');
    expect(statuses(second.planned)).toEqual(FILES_OPERATIONS.map((op) => `${op}:no-change`));
    expect(server.hits()).toBe(1);
  });

  it('files.download fails on a wrong sha256 and leaves no partial file', async () => {
    const dest = join(remote, 'dl', 'wrong.bin');
    const outcome = await run(
      async ({ ops }) => {
        await ops.files.download({ src: server.url, dest, sha256: 'f'.repeat(64) });
      },
      [sshHost(sshd, 'web1')],
    );
    expect(outcome.failedHosts.get('web1')?.message).toMatch(
      new RegExp(`sha256 mismatch: the download is ${DOWNLOAD_SHA}, expected f{64}`),
    );
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
  });

  it('become: _sudo writes root-owned files, idempotent on the second run', async () => {
    const secret = `${remote}-root`;
    const fn: DeployFunction = async ({ ops }) => {
      await ops.files.directory({ path: secret, mode: '700', user: 'root', _sudo: true });
      await ops.files.put({
        src: Buffer.from('token=1\n'),
        dest: `${secret}/app.conf`,
        mode: '600',
        user: 'root',
        group: 'root',
        _sudo: true,
      });
      await ops.files.line({
        path: `${secret}/extra.conf`,
        line: '^level=',
        replace: 'level=2',
        _sudo: true,
      });
    };
    try {
      const first = await run(fn, [sshHost(sshd, 'web1')]);
      expect([...first.failedHosts.values()]).toEqual([]);
      expect(statuses(first.executed)).toEqual([
        'files.directory:changed',
        'files.put:changed',
        'files.line:changed',
      ]);
      const info = await stat(join(secret, 'app.conf'));
      expect([info.uid, info.mode & 0o777]).toEqual([0, 0o600]);
      expect(await readFile(join(secret, 'app.conf'), 'utf8')).toBe('token=1\n');
      expect((await stat(join(secret, 'extra.conf'))).uid).toBe(0);
      expect(await readFile(join(secret, 'extra.conf'), 'utf8')).toBe('level=2\n');
      expect((await run(fn, [sshHost(sshd, 'web1')])).ending).toBe('nothing-to-do');
      // The plain user (no sudo rights) cannot do the same.
      const plain = await run(fn, [sshHost(sshd, 'plain', {}, TEST_USERS.plain.name)]);
      expect(plain.failedHosts.get('plain')?.message).toMatch(/sudo|password|not allowed|denied/i);
    } finally {
      await rm(secret, { recursive: true, force: true });
    }
  });

  it('a run over several hosts where one cannot connect and one fails: the rest finish', async () => {
    const closed = await freeLoopbackPort();
    const hosts = () => [
      sshHost(sshd, 'app1', { fail: false }),
      sshHost(sshd, 'app2', { fail: true }),
      sshHost(sshd, 'gone', { ssh_port: closed, ssh_connect_timeout: 2 }),
      sshHost(sshd, 'app3', { fail: false }),
    ];
    const fn: DeployFunction = async ({ ops, host }) => {
      await ops.files.directory({ path: `${remote}/many/${host.name}` });
      await ops.server.shell({ commands: host.data.fail ? 'echo no >&2; exit 5' : 'true' });
      await ops.files.file({ path: `${remote}/many/${host.name}/done` });
    };
    const outcome = await run(fn, hosts());
    expect(Object.fromEntries([...outcome.failedHosts].map(([h, e]) => [h, e.phase]))).toEqual({
      gone: 'connect',
      app2: 'execute',
    });
    expect(outcome.failedHosts.get('gone')?.message).toMatch(/ECONNREFUSED/);
    for (const name of ['app1', 'app3']) {
      expect((await stat(join(remote, 'many', name, 'done'))).isFile()).toBe(true);
    }
    await expect(stat(join(remote, 'many', 'app2', 'done'))).rejects.toThrow(/ENOENT/);

    // Past --fail-percent the run stops before anything is executed on any host.
    const stopped = await run(fn, hosts(), { failPercent: 10 });
    expect(stopped.ending).toBe('stopped');
    expect(stopped.stopped).toMatch(/--fail-percent 10 exceeded \(1 of 4 hosts failed\)/);
    expect(stopped.executed).toEqual([]);
  });

  it('Ctrl-C over ssh: running commands end, nothing new starts, every host is disconnected', async () => {
    const stop = new AbortController();
    const hosts = [sshHost(sshd, 's1'), sshHost(sshd, 's2')];
    const disconnected: string[] = [];
    for (const host of hosts) {
      const disconnect = host.connector.disconnect.bind(host.connector);
      host.connector.disconnect = async () => {
        disconnected.push(host.name);
        await disconnect();
      };
    }
    const outcome = await run(
      async ({ ops, host }) => {
        await ops.server.shell({ commands: `sleep 0.8 && echo ran > ${remote}/stop-${host.name}` });
        await ops.files.file({ path: `${remote}/stop-${host.name}-next` });
      },
      hosts,
      {
        signal: stop.signal,
        onEvent: (event) => {
          if (event.type === 'phase' && event.phase === 'execute') {
            setTimeout(() => stop.abort('SIGINT received'), 300);
          }
        },
      },
    );
    expect(outcome.ending).toBe('stopped');
    expect(outcome.failedHosts.size).toBe(0);
    expect(statuses(outcome.executed)).toEqual(['server.shell:changed', 'server.shell:changed']);
    for (const name of ['s1', 's2']) {
      expect(await readFile(join(remote, `stop-${name}`), 'utf8')).toBe('ran\n');
      await expect(stat(join(remote, `stop-${name}-next`))).rejects.toThrow(/ENOENT/);
    }
    expect(disconnected.sort()).toEqual(['s1', 's2']);
  });
});
