import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localHost, run, statuses } from './hosts.js';
import {
  CONF_AFTER,
  KEY_A,
  MORE_FILES_DRY,
  MORE_FILES_FIRST,
  MORE_FILES_SECOND,
  makeTree,
  moreFilesDeploy,
  SYNCED_TREE,
  syncUploads,
} from './more-files-deploy.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-more-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listTree(root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true })).map(String).sort();
}

describe('files.sync/replace/block/move/get and userAuthorizedKeys on @local', () => {
  it('change the host once, then report no change; --dry changes nothing', async () => {
    const tree = await makeTree(dir);
    const root = join(dir, 'remote');
    const fetched = join(dir, 'fetched');
    const fn = moreFilesDeploy({ root, tree, fetched, keysUser: 'root' });

    const dry = await run(fn, [localHost('@local')], { dry: true });
    expect(dry.failedHosts).toEqual(new Map());
    expect(statuses(dry.planned)).toEqual(MORE_FILES_DRY);
    await expect(stat(root)).rejects.toThrow(/ENOENT/);
    await expect(stat(fetched)).rejects.toThrow(/ENOENT/);

    const first = await run(fn, [localHost('@local')]);
    expect(first.failedHosts).toEqual(new Map());
    expect(statuses(first.executed)).toEqual(MORE_FILES_FIRST);
    expect(syncUploads(first.executed)).toEqual([
      expect.stringMatching(/^upload .*\/tree\/\.infra-sync-[0-9a-f]+\.tar$/),
    ]);
    expect(await listTree(join(root, 'tree'))).toEqual(SYNCED_TREE);
    expect((await stat(join(root, 'tree', 'run.sh'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(root, 'conf.txt'), 'utf8')).toBe(CONF_AFTER);
    await expect(stat(join(root, 'old.txt'))).rejects.toThrow(/ENOENT/);
    expect((await stat(join(root, 'new.txt'))).isFile()).toBe(true);
    expect(await listTree(fetched)).toEqual(SYNCED_TREE.filter((path) => path !== 'run.sh'));
    expect(await readFile(join(fetched, 'sub', 'deeper', 'c.txt'), 'utf8')).toBe('c\n');
    const keys = await readFile(join(root, 'ssh', 'authorized_keys'), 'utf8');
    expect(keys.split('\n')[0]).toBe(KEY_A);
    expect((await stat(join(root, 'ssh'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, 'ssh', 'authorized_keys'))).mode & 0o777).toBe(0o600);

    const second = await run(fn, [localHost('@local')]);
    expect(statuses(second.planned)).toEqual(MORE_FILES_SECOND);
    expect(second.planned.flatMap((r) => r.commands)).toEqual([]);
    expect(second.ending).toBe('nothing-to-do');
  });

  it('files.sync sends only what changed and deletes extras; deleteKeys keeps only the given keys', async () => {
    const tree = join(dir, 'tree');
    const root = join(dir, 'remote');
    await writeFile(join(tree, 'sub', 'b.txt'), 'b changed\n');
    await writeFile(join(root, 'tree', 'extra.txt'), 'not in src\n');
    await writeFile(join(root, 'tree', 'kept.tmp'), 'excluded: kept\n');
    const outcome = await run(
      async ({ ops }) => {
        await ops.files.sync({
          src: tree,
          dest: `${root}/tree`,
          delete: true,
          exclude: ['*.tmp'],
          excludeDir: 'cache',
        });
        await ops.server.userAuthorizedKeys({
          user: 'root',
          publicKeys: KEY_A,
          deleteKeys: true,
          authorizedKeyDirectory: `${root}/ssh`,
        });
      },
      [localHost('@local')],
    );
    expect(outcome.failedHosts).toEqual(new Map());
    expect(syncUploads(outcome.executed)).toEqual([`upload ${root}/tree/sub/b.txt`]);
    // --diff names what is sent and removed.
    expect(outcome.executed[0]?.diff).toBe(`~ ${root}/tree/sub/b.txt\n- ${root}/tree/extra.txt\n`);
    await expect(stat(join(root, 'tree', 'extra.txt'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(join(root, 'tree', 'kept.tmp'), 'utf8')).toBe('excluded: kept\n');
    expect(await readFile(join(root, 'ssh', 'authorized_keys'), 'utf8')).toBe(`${KEY_A}\n`);
  });
});
