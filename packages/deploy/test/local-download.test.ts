import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_CONTENT, FILES_OPERATIONS, filesDeploy } from './common-deploy.js';
import { localHost, run, serveFile, statuses } from './hosts.js';

describe('files.download and the other file operations on @local, run twice', () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof serveFile>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-deploy-local-dl-'));
    server = await serveFile(DOWNLOAD_CONTENT);
  });
  afterAll(async () => {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const via of ['host', 'controller'] as const) {
    it(`via ${via}: changes once, then nothing; --dry downloads nothing`, async () => {
      const root = join(dir, via);
      const src = join(dir, 'src.txt');
      await writeFile(src, 'local\n');
      const before = server.hits();
      const fn = filesDeploy({ root, src, fetched: dir, downloadUrl: server.url, via });
      const dry = await run(fn, [localHost('@local')], { dry: true });
      expect(statuses(dry.planned)).toEqual(FILES_OPERATIONS.map((op) => `${op}:changed`));
      expect(server.hits()).toBe(before);
      await expect(stat(root)).rejects.toThrow(/ENOENT/);

      const first = await run(fn, [localHost('@local')]);
      expect([...first.failedHosts.values()]).toEqual([]);
      const download = first.executed.find((r) => r.operation === 'files.download');
      expect(download?.commands[0]).toMatch(
        via === 'host' ? /^mkdir -p .* curl -fsSL/ : /^upload /,
      );
      expect(await readFile(join(root, 'dl/file.bin'))).toEqual(DOWNLOAD_CONTENT);
      expect((await stat(join(root, 'dl/file.bin'))).mode & 0o777).toBe(0o600);
      expect(server.hits()).toBe(before + 1);

      const second = await run(fn, [localHost('@local')]);
      expect(second.ending).toBe('nothing-to-do');
      expect(server.hits()).toBe(before + 1);
    });
  }

  it('a missing URL fails the host with the HTTP status, on either side', async () => {
    const missing = server.url.replace('file.bin', 'nope');
    const host = await run(
      async ({ ops }) => {
        await ops.files.download({ src: missing, dest: join(dir, 'nope-host') });
      },
      [localHost('h')],
    );
    expect(host.failedHosts.get('h')?.message).toMatch(/curl: \(22\).*404/);
    const controller = await run(
      async ({ ops }) => {
        await ops.files.download({ src: missing, dest: join(dir, 'nope-ctl'), via: 'controller' });
      },
      [localHost('c')],
    );
    expect(controller.failedHosts.get('c')?.message).toMatch(/GET .*\/nope answered 404 Not Found/);
  });
});
