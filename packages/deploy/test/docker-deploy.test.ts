import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerApi, TEST_USERS, useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { DOWNLOAD_CONTENT, FILES_OPERATIONS, filesDeploy } from './common-deploy.js';
import {
  containerExec,
  dockerHost,
  removeContainer,
  run,
  serveFile,
  startContainer,
  statuses,
} from './hosts.js';

const { dockerd, skip } = await useDockerd();

describe.skipIf(skip !== undefined)('deploys on @docker (busybox container)', () => {
  let dir: string;
  let container: string;
  let sudoContainer: string | undefined;
  let server: Awaited<ReturnType<typeof serveFile>>;
  /** A fresh connector to the same running container for every run. */
  const host = (data: Record<string, unknown> = {}) => dockerHost(dockerd!, container, data, 'bb');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-deploy-docker-'));
    server = await serveFile(DOWNLOAD_CONTENT);
    container = await startContainer(dockerd!, {
      Image: dockerd!.images.busybox,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'none' },
    });
    if (dockerd!.images.busyboxSudo) {
      sudoContainer = await startContainer(dockerd!, {
        Image: dockerd!.images.busyboxSudo,
        Cmd: ['sleep', '3600'],
        HostConfig: { NetworkMode: 'none' },
      });
    }
  });

  afterAll(async () => {
    await removeContainer(dockerd!, container);
    await removeContainer(dockerd!, sudoContainer);
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('file operations change the container once, then report no change; --dry changes nothing', async () => {
    const src = join(dir, 'src.txt');
    await writeFile(src, 'put from the controller\n');
    // Network mode none: the container cannot reach the URL, so this machine fetches it.
    const fn = filesDeploy({
      root: '/srv/app',
      src,
      fetched: dir,
      downloadUrl: server.url,
      via: 'controller',
    });

    const dry = await run(fn, [host({ port: 8080 })], { dry: true });
    expect(dry.ending).toBe('dry');
    expect(statuses(dry.planned)).toEqual(FILES_OPERATIONS.map((op) => `${op}:changed`));
    expect(await containerExec(dockerd!, container, 'ls /srv/app 2>&1 || echo missing')).toMatch(
      /No such file|missing/,
    );
    expect(server.hits()).toBe(0);

    const first = await run(fn, [host({ port: 8080 })]);
    expect(first.failedHosts.size).toBe(0);
    expect(statuses(first.executed)).toEqual(FILES_OPERATIONS.map((op) => `${op}:changed`));
    expect(
      await containerExec(
        dockerd!,
        container,
        'cd /srv/app && stat -c "%a %n" . put.txt empty dl/file.bin && cat sub/tpl.txt lines.txt && readlink link && sha256sum dl/file.bin',
      ),
    ).toBe(
      [
        '750 .',
        '640 put.txt',
        '600 empty',
        '600 dl/file.bin',
        'host=bb port=8080',
        'port=80',
        'put.txt',
        `${(await import('./common-deploy.js')).DOWNLOAD_SHA}  dl/file.bin`,
      ].join('\n'),
    );
    expect(await readFile(join(dir, 'bb.txt'), 'utf8')).toBe('put from the controller\n');
    expect(server.hits()).toBe(1);

    const second = await run(fn, [host({ port: 8080 })]);
    expect(second.ending).toBe('nothing-to-do');
    expect(statuses(second.planned)).toEqual(FILES_OPERATIONS.map((op) => `${op}:no-change`));
    expect(server.hits()).toBe(1);
  });

  it('server.user names the missing tools: this busybox build has no adduser/addgroup', async () => {
    // Debian's busybox-static leaves out adduser and addgroup (busybox --list); the
    // shadow path runs on the Debian image (debian-deploy.test.ts), busybox's in unit tests.
    const outcome = await run(
      async ({ ops }) => {
        await ops.server.user({ user: 'infra-app' });
      },
      [host()],
    );
    expect(outcome.failedHosts.get('bb')?.message).toMatch(
      /bb has neither useradd \(shadow\) nor adduser \(busybox\): install one of them/,
    );
  });

  it.skipIf(!dockerd?.images.busyboxSudo)(
    'become: a deploy as a plain user writes root-owned files with _sudo',
    async () => {
      const become = (data: Record<string, unknown> = {}) =>
        dockerHost(
          dockerd!,
          sudoContainer!,
          { docker_user: TEST_USERS.sudo.name, ...data },
          'sudo-bb',
        );
      const fn: DeployFunction = async ({ ops }) => {
        await ops.files.directory({ path: '/etc/infra-app', mode: '755', _sudo: true });
        await ops.files.put({
          src: Buffer.from('secret=1\n'),
          dest: '/etc/infra-app/app.conf',
          mode: '600',
          user: 'root',
          _sudo: true,
        });
        await ops.server.shell({ commands: 'id -un', name: 'who am i' });
      };
      const first = await run(fn, [become()]);
      expect(first.failedHosts.size).toBe(0);
      expect(first.executed.find((r) => r.name === 'who am i')?.stdout).toBe(TEST_USERS.sudo.name);
      expect(
        await containerExec(dockerd!, sudoContainer!, 'stat -c "%U %a" /etc/infra-app/app.conf'),
      ).toBe('root 600');
      const second = await run(fn, [become()]);
      expect(statuses(second.planned)).toEqual([
        'files.directory:no-change',
        'files.put:no-change',
        'server.shell:changed',
      ]);
      // Without sudo the same user cannot even read it: the fact fails and the host fails.
      const denied = await run(
        async ({ ops }) => {
          await ops.files.line({ path: '/etc/infra-app/app.conf', line: '^secret=' });
        },
        [become()],
      );
      expect(denied.failedHosts.get('sudo-bb')?.message).toMatch(/Permission denied/);
    },
  );

  it('a run over several containers where one fails: the others finish', async () => {
    const hosts = () => [
      dockerHost(dockerd!, container, { fail: false }, 'ok-1'),
      dockerHost(dockerd!, container, { fail: true }, 'bad'),
      dockerHost(dockerd!, container, { fail: false }, 'ok-2'),
    ];
    const fn: DeployFunction = async ({ ops, host }) => {
      await ops.files.directory({ path: `/srv/many/${host.name}` });
      await ops.server.shell({ commands: host.data.fail ? 'echo broken >&2; exit 4' : 'true' });
      await ops.files.file({ path: `/srv/many/${host.name}/done` });
    };
    const outcome = await run(fn, hosts());
    expect([...outcome.failedHosts.keys()]).toEqual(['bad']);
    expect(outcome.failedHosts.get('bad')?.message).toMatch(/exited with 4: broken/);
    expect(
      await containerExec(dockerd!, container, 'ls /srv/many/ok-1 /srv/many/ok-2 /srv/many/bad'),
    ).toBe('/srv/many/bad:\n\n/srv/many/ok-1:\ndone\n\n/srv/many/ok-2:\ndone');
  });

  it('Ctrl-C in image mode: the running command ends, nothing new starts, the container is removed', async () => {
    const containersOf = async () => {
      const list = await dockerApi(dockerd!.socketPath, 'GET', '/containers/json?all=true');
      return (list.json as { Image: string }[]).filter((c) => c.Image === dockerd!.images.busybox);
    };
    const before = (await containersOf()).length;
    const stop = new AbortController();
    const results: string[] = [];
    const outcome = await run(
      async ({ ops, dry }) => {
        const slow = await ops.server.shell({ commands: 'sleep 0.8; echo finished' });
        if (!dry) results.push(slow.stdout);
        await ops.files.file({ path: '/never' });
      },
      // Image mode: the connector creates a container at connect and removes it at disconnect.
      [dockerHost(dockerd!, dockerd!.images.busybox, {}, 'image')],
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
    expect(results).toEqual(['finished']);
    expect(statuses(outcome.executed)).toEqual(['server.shell:changed']);
    expect((await containersOf()).length).toBe(before);
  });
});
