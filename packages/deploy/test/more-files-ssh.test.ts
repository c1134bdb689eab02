import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { localHost, run, sshHost, statuses } from './hosts.js';
import {
  CONF_AFTER,
  MORE_FILES_DRY,
  MORE_FILES_FIRST,
  MORE_FILES_SECOND,
  makeTree,
  moreFilesDeploy,
  syncUploads,
} from './more-files-deploy.js';

const skip = peerMissing('sshd', sshdMissingReason());

describe.skipIf(skip !== undefined)(
  'files.sync and friends on @ssh (OpenSSH sshd on loopback)',
  () => {
    let sshd: SshdFixture;
    let dir: string;
    let remote: string;
    const host = () => sshHost(sshd, 'web1');

    beforeAll(async () => {
      sshd = await startSshd();
      dir = await mkdtemp(join(tmpdir(), 'infra-more-ssh-'));
      await chmod(dir, 0o755);
      // The deploy (as the sudo test user) makes this itself; root only picks the name.
      remote = `${dir}-remote`;
    });
    afterAll(async () => {
      await sshd?.dispose();
      await rm(dir, { recursive: true, force: true });
      if (remote) await rm(remote, { recursive: true, force: true });
    });

    it('change the host once, then report no change; --dry changes nothing', async () => {
      const tree = await makeTree(dir);
      const fetched = join(dir, 'fetched');
      const fn = moreFilesDeploy({ root: remote, tree, fetched, keysUser: TEST_USERS.sudo.name });

      const dry = await run(fn, [host()], { dry: true });
      expect(dry.failedHosts).toEqual(new Map());
      expect(statuses(dry.planned)).toEqual(MORE_FILES_DRY);
      await expect(stat(remote)).rejects.toThrow(/ENOENT/);

      const first = await run(fn, [host()]);
      expect(first.failedHosts).toEqual(new Map());
      expect(statuses(first.executed)).toEqual(MORE_FILES_FIRST);
      expect(syncUploads(first.executed)).toHaveLength(1);
      expect(await readFile(join(remote, 'conf.txt'), 'utf8')).toBe(CONF_AFTER);
      expect((await stat(join(remote, 'tree', 'run.sh'))).mode & 0o777).toBe(0o755);
      const keys = await stat(join(remote, 'ssh', 'authorized_keys'));
      expect(keys.mode & 0o777).toBe(0o600);
      expect(keys.uid).not.toBe(0);
      expect(await readFile(join(fetched, 'sub', 'b.txt'), 'utf8')).toBe('b\n');

      const second = await run(fn, [host()]);
      expect(statuses(second.planned)).toEqual(MORE_FILES_SECOND);
      expect(second.ending).toBe('nothing-to-do');
    });

    it('files.sync of 1000 small files (with sudo, owned by infra-plain) reads the remote tree in one command and sends only the one changed', async () => {
      const src = join(dir, 'thousand');
      for (let d = 0; d < 10; d++) {
        await mkdir(join(src, `d${d}`), { recursive: true });
        await Promise.all(
          Array.from({ length: 100 }, (_, f) =>
            writeFile(join(src, `d${d}`, `f${f}.txt`), `file ${d}/${f}\n`),
          ),
        );
      }
      const dest = `${remote}-thousand`;
      const fn: DeployFunction = async ({ ops }) => {
        await ops.files.sync({ src, dest, mode: '644', user: TEST_USERS.plain.name, _sudo: true });
      };
      try {
        const first = await run(fn, [host()]);
        expect(first.failedHosts).toEqual(new Map());
        // The 1000 new files went as one archive.
        expect(syncUploads(first.executed)).toEqual([
          expect.stringMatching(/\.infra-sync-[0-9a-f]+\.tar$/),
        ]);
        expect(await readFile(join(dest, 'd3', 'f99.txt'), 'utf8')).toBe('file 3/99\n');
        const synced = await stat(join(dest, 'd3', 'f99.txt'));
        expect(synced.mode & 0o777).toBe(0o644);
        expect(synced.uid).toBe((await stat(join(dest, 'd0'))).uid);
        expect(synced.uid).not.toBe(0);

        await writeFile(join(src, 'd7', 'f42.txt'), 'changed\n');
        const second = await run(fn, [host()]);
        expect(syncUploads(second.executed)).toEqual([`upload ${dest}/d7/f42.txt`]);
        expect(await readFile(join(dest, 'd7', 'f42.txt'), 'utf8')).toBe('changed\n');
        // Each pass asked the host once, and only that, to plan the sync.
        const planCommands = second.events.filter(
          (e) => e.type === 'command' && e.operation !== 'files.sync',
        );
        expect(planCommands.map((e) => (e.type === 'command' ? e.operation : ''))).toEqual([
          'fact files.tree',
          'fact files.tree',
        ]);

        const third = await run(fn, [host()]);
        expect(third.ending).toBe('nothing-to-do');
      } finally {
        await rm(dest, { recursive: true, force: true });
      }
    });

    it('files.line, files.replace and files.block with _sudo keep the file owner', async () => {
      const path = join(`${remote}-owned`, 'app.conf');
      const fn: DeployFunction = async ({ ops, facts }) => {
        await ops.files.put({
          src: Buffer.from('a=1\n'),
          dest: path,
          _if: async () => (await facts.files.file(path)) === null,
        });
        await ops.files.line({ path, line: '^b=', replace: 'b=2', _sudo: true });
        await ops.files.replace({ path, text: '^a=1$', replace: 'a=3', flags: 'm', _sudo: true });
        await ops.files.block({ path, content: 'c=4', _sudo: true });
      };
      try {
        const first = await run(fn, [host()]);
        expect(first.failedHosts).toEqual(new Map());
        expect(await readFile(path, 'utf8')).toBe(
          'a=3\nb=2\n# BEGIN INFRA BLOCK\nc=4\n# END INFRA BLOCK\n',
        );
        const owner = (await stat(path)).uid;
        expect(owner).not.toBe(0);
        expect(owner).toBe((await stat(`${remote}-owned`)).uid);
        expect((await run(fn, [host()])).ending).toBe('nothing-to-do');
      } finally {
        await rm(`${remote}-owned`, { recursive: true, force: true });
      }
    });

    it('ssh.keyscan adds the sshd host key to known_hosts once', async () => {
      const home = join(dir, 'home-keyscan');
      await mkdir(home, { mode: 0o777 });
      await chmod(home, 0o777);
      const fn: DeployFunction = async ({ ops }) => {
        await ops.ssh.keyscan({ hostname: sshd.host, port: sshd.port, _env: { HOME: home } });
      };
      for (const target of [() => localHost('@local'), host]) {
        await rm(join(home, '.ssh'), { recursive: true, force: true });
        const dry = await run(fn, [target()], { dry: true });
        expect(statuses(dry.planned)).toEqual(['ssh.keyscan:changed']);
        await expect(stat(join(home, '.ssh'))).rejects.toThrow(/ENOENT/);
        const first = await run(fn, [target()]);
        expect(first.failedHosts).toEqual(new Map());
        const known = await readFile(join(home, '.ssh', 'known_hosts'), 'utf8');
        expect(known).toContain(
          `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey.split(' ').slice(0, 2).join(' ')}`,
        );
        const second = await run(fn, [target()]);
        expect(second.ending).toBe('nothing-to-do');
      }
    });
  },
);
