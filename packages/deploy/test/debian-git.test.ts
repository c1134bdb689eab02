import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DebianImage,
  debianImageMissingReason,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
  useDockerd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction } from '../src/index.js';
import { buildAppImage } from './app-image.js';
import { type GitFixture, makeGitFixture } from './git-fixture.js';
import {
  containerExec,
  dockerHost,
  removeContainer,
  run,
  startContainer,
  statuses,
} from './hosts.js';
import {
  MORE_FILES_DRY,
  MORE_FILES_FIRST,
  MORE_FILES_SECOND,
  makeTree,
  moreFilesDeploy,
} from './more-files-deploy.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason() ?? sshdMissingReason();

describe.skipIf(skip !== undefined)(
  'git.repo, ssh.keyscan and file operations on a Debian container',
  () => {
    let image: DebianImage;
    let container: string;
    let repo: GitFixture;
    let sshd: SshdFixture;
    let dir: string;
    const host = () => dockerHost(dockerd!, container, {}, 'debian');

    beforeAll(async () => {
      // Its own tag: the default one is debian-deploy.test.ts's image (other packages).
      image = await buildAppImage(dockerd!);
      // Network mode host: the container reaches the loopback sshd of this machine.
      container = await startContainer(dockerd!, {
        Image: image.tag,
        Cmd: ['sleep', '3600'],
        HostConfig: { NetworkMode: 'host' },
      });
      repo = await makeGitFixture();
      sshd = await startSshd();
      dir = await mkdtemp(join(tmpdir(), 'infra-debian-git-'));
    }, 300_000);
    afterAll(async () => {
      await removeContainer(dockerd!, container);
      await sshd?.dispose();
      await repo?.dispose();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('files.sync/replace/block/move/get and userAuthorizedKeys for a real user, twice; --dry changes nothing', async () => {
      const tree = await makeTree(dir);
      const fetched = join(dir, 'fetched');
      const files = moreFilesDeploy({ root: '/srv/more', tree, fetched, keysUser: 'app' });
      const fn: DeployFunction = async (context) => {
        await context.ops.server.user({ user: 'app', home: '/home/app' });
        await files(context, {});
      };
      const dry = await run(fn, [host()], { dry: true });
      expect(statuses(dry.planned)).toEqual(['server.user:changed', ...MORE_FILES_DRY]);
      const first = await run(fn, [host()]);
      expect(first.failedHosts).toEqual(new Map());
      expect(statuses(first.executed)).toEqual(['server.user:changed', ...MORE_FILES_FIRST]);
      expect(
        await containerExec(
          dockerd!,
          container,
          'stat -c "%a %U:%G %n" /srv/more/ssh /srv/more/ssh/authorized_keys',
        ),
      ).toBe('700 app:app /srv/more/ssh\n600 app:app /srv/more/ssh/authorized_keys');
      const second = await run(fn, [host()]);
      expect(statuses(second.planned)).toEqual(['server.user:no-change', ...MORE_FILES_SECOND]);
      expect(second.ending).toBe('nothing-to-do');
    });

    it('git.repo clones from file:// (a bare repository synced in), pins a tag, owner app; twice', async () => {
      const fn: DeployFunction = async ({ ops }) => {
        await ops.files.sync({ src: repo.bare, dest: '/srv/git/app.git' });
        await ops.git.repo({
          src: 'file:///srv/git/app.git',
          dest: '/srv/app',
          branch: 'main',
          user: 'app',
          group: 'app',
        });
        await ops.git.repo({ src: '/srv/git/app.git', dest: '/srv/app-v1', commit: 'v1' });
      };
      const dry = await run(fn, [host()], { dry: true });
      expect(statuses(dry.planned)).toEqual([
        'files.sync:changed',
        'git.repo:changed',
        'git.repo:changed',
      ]);
      expect(await containerExec(dockerd!, container, 'ls /srv/app 2>&1 || echo missing')).toMatch(
        /No such file|missing/,
      );
      const first = await run(fn, [host()]);
      expect(first.failedHosts).toEqual(new Map());
      expect(
        await containerExec(
          dockerd!,
          container,
          'cat /srv/app/README /srv/app-v1/README; stat -c %U /srv/app/README; git -C /srv/app-v1 rev-parse HEAD',
        ),
      ).toBe(`version 2\nversion 1\napp\n${repo.v1}`);
      const second = await run(fn, [host()]);
      expect(statuses(second.planned)).toEqual([
        'files.sync:no-change',
        'git.repo:no-change',
        'git.repo:no-change',
      ]);
      expect(second.ending).toBe('nothing-to-do');
    });

    it('ssh.keyscan and git.repo over an ssh remote through the loopback sshd, twice', async () => {
      const key = await readFile(sshd.clientKey.privateKeyPath);
      const src = `ssh://${TEST_USERS.plain.name}@${sshd.host}:${sshd.port}${repo.bareForSsh}`;
      const env = { GIT_SSH_COMMAND: 'ssh -i /root/deploy_key -o BatchMode=yes' };
      const fn: DeployFunction = async ({ ops }) => {
        await ops.files.put({ src: key, dest: '/root/deploy_key', mode: '600' });
        await ops.ssh.keyscan({ hostname: sshd.host, port: sshd.port });
        await ops.git.repo({ src, dest: '/srv/over-ssh', sshKeyscan: true, _env: env });
      };
      const dry = await run(fn, [host()], { dry: true });
      expect(statuses(dry.planned)).toEqual([
        'files.put:changed',
        'ssh.keyscan:changed',
        'git.repo:changed',
      ]);
      const first = await run(fn, [host()]);
      expect(first.failedHosts).toEqual(new Map());
      expect(
        await containerExec(
          dockerd!,
          container,
          'cat /srv/over-ssh/README; grep -c "127.0.0.1" /root/.ssh/known_hosts',
        ),
      ).toBe('version 2\n1');
      const second = await run(fn, [host()]);
      expect(statuses(second.planned)).toEqual([
        'files.put:no-change',
        'ssh.keyscan:no-change',
        'git.repo:no-change',
      ]);
      expect(second.ending).toBe('nothing-to-do');
    });
  },
);
