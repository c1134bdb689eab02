import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { DeployFunction, OperationResult } from '../src/index.js';

export const KEY_A =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBiuU1H6ol3O6QD0sUzGbIZn2IqBY4m3SCRuXt5ey7Au deploy@a';
export const KEY_B =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGy0cGM3lY3H0aG4y1rrf0qTS0Y2O9V9WbVBO9mZ1Zbb deploy@b';

/** A small local tree for files.sync: files, a sub folder, an executable, excluded ones. */
export async function makeTree(dir: string): Promise<string> {
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
  await mkdir(join(tree, 'cache'), { recursive: true });
  await writeFile(join(tree, 'a.txt'), 'a\n');
  await writeFile(join(tree, 'sub', 'b.txt'), 'b\n');
  await writeFile(join(tree, 'sub', 'deeper', 'c.txt'), 'c\n');
  await writeFile(join(tree, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(tree, 'run.sh'), 0o755);
  await writeFile(join(tree, 'skip.tmp'), 'excluded\n');
  await writeFile(join(tree, 'cache', 'big.bin'), 'excluded folder\n');
  // Enough new files for files.sync to send them as one archive.
  await mkdir(join(tree, 'many'));
  for (let i = 0; i < 8; i++) await writeFile(join(tree, 'many', `m${i}.txt`), `m${i}\n`);
  return tree;
}

/**
 * files.sync/replace/block/move/get (pattern) and server.userAuthorizedKeys under
 * `root` on the host; `fetched` is a local folder for files.get.
 */
export function moreFilesDeploy(options: {
  root: string;
  tree: string;
  fetched: string;
  keysUser: string;
}): DeployFunction {
  const { root } = options;
  return async ({ ops, facts }) => {
    await ops.files.directory({ path: root });
    await ops.files.sync({
      src: options.tree,
      dest: `${root}/tree`,
      delete: true,
      exclude: '*.tmp',
      excludeDir: 'cache',
      dirMode: '755',
    });
    await ops.files.put({
      src: Buffer.from('name=app\nport=80\nport=81\n'),
      dest: `${root}/conf.txt`,
      _if: async () => (await facts.files.file(`${root}/conf.txt`)) === null,
    });
    await ops.files.replace({
      path: `${root}/conf.txt`,
      text: '^port=(80)$',
      replace: 'port=$1$1',
      flags: 'm',
    });
    await ops.files.block({
      path: `${root}/conf.txt`,
      content: ['workers=4', 'timeout=30'],
      line: '^name=',
      before: true,
    });
    await ops.files.file({
      path: `${root}/old.txt`,
      _if: async () => (await facts.files.file(`${root}/new.txt`)) === null,
    });
    await ops.files.move({ src: `${root}/old.txt`, dest: `${root}/new.txt` });
    await ops.files.get({ src: `${root}/tree/**/*.txt`, dest: options.fetched });
    await ops.server.userAuthorizedKeys({
      user: options.keysUser,
      publicKeys: [KEY_A, KEY_B],
      authorizedKeyDirectory: `${root}/ssh`,
    });
  };
}

export const MORE_FILES_FIRST = [
  'files.directory:changed',
  'files.sync:changed',
  'files.put:changed',
  'files.replace:changed',
  'files.block:changed',
  'files.file:changed',
  'files.move:changed',
  'files.get:changed',
  'server.userAuthorizedKeys:changed',
];

/** --dry: files.get of a pattern cannot know what an earlier operation will make. */
export const MORE_FILES_DRY = MORE_FILES_FIRST.map((s) =>
  s === 'files.get:changed' ? 'files.get:no-change' : s,
);

export const MORE_FILES_SECOND = [
  'files.directory:no-change',
  'files.sync:no-change',
  'files.put:skipped',
  'files.replace:no-change',
  'files.block:no-change',
  'files.file:skipped',
  'files.move:no-change',
  'files.get:no-change',
  'server.userAuthorizedKeys:no-change',
];

export const CONF_AFTER =
  '# BEGIN INFRA BLOCK\nworkers=4\ntimeout=30\n# END INFRA BLOCK\nname=app\nport=8080\nport=81\n';

/** What a run's files.sync sent: its uploads, in order (new files go in one `.infra-sync-*.tar`). */
export function syncUploads(results: readonly OperationResult[]): string[] {
  const sync = results.find((r) => r.operation === 'files.sync');
  expect(sync).toBeDefined();
  return (sync?.commands ?? []).filter((c) => c.startsWith('upload '));
}

/** The remote tree after the sync, as `find | sort` lists it. */
export const SYNCED_TREE = [
  'a.txt',
  'many',
  ...Array.from({ length: 8 }, (_, i) => `many/m${i}.txt`),
  'run.sh',
  'sub',
  'sub/b.txt',
  'sub/deeper',
  'sub/deeper/c.txt',
];
