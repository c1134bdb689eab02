import { chmod, copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction, RunHost } from '../src/index.js';
import { type GitFixture, makeGitFixture } from './git-fixture.js';
import { localHost, run, sshHost, statuses } from './hosts.js';

const skip = peerMissing('sshd', sshdMissingReason());

describe.skipIf(skip !== undefined)('git.repo against a bare repository made by the test', () => {
  let repo: GitFixture;
  let sshd: SshdFixture;

  beforeAll(async () => {
    repo = await makeGitFixture();
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.dispose();
    await repo?.dispose();
  });

  /** Clone (branch main, file://), then pinned to v1 in a second tree; facts read both. */
  async function cloneTwiceThenPull(target: () => RunHost, root: string, extra: object = {}) {
    const main = `${root}/main`;
    const pinned = `${root}/pinned`;
    const seen: Record<string, unknown> = {};
    const fn: DeployFunction = async ({ ops, facts, dry }) => {
      await ops.git.repo({ src: `file://${repo.bare}`, dest: main, branch: 'main', ...extra });
      await ops.git.repo({ src: repo.bare, dest: pinned, commit: 'v1', ...extra });
      if (!dry) {
        seen.branch = await facts.git.branch(main);
        seen.head = await facts.git.commit({ repo: main });
        seen.pinned = await facts.git.commit(pinned);
        seen.pinnedBranch = await facts.git.branch(pinned);
      }
    };
    const dry = await run(fn, [target()], { dry: true });
    expect(dry.failedHosts).toEqual(new Map());
    expect(statuses(dry.planned)).toEqual(['git.repo:changed', 'git.repo:changed']);
    await expect(stat(main)).rejects.toThrow(/ENOENT/);

    const first = await run(fn, [target()]);
    expect(first.failedHosts).toEqual(new Map());
    expect(statuses(first.executed)).toEqual(['git.repo:changed', 'git.repo:changed']);
    expect(seen).toEqual({
      branch: 'main',
      head: await repo.head(),
      pinned: repo.v1,
      pinnedBranch: null,
    });
    expect(await readFile(join(pinned, 'README'), 'utf8')).toBe('version 1\n');

    const second = await run(fn, [target()]);
    expect(statuses(second.planned)).toEqual(['git.repo:no-change', 'git.repo:no-change']);
    expect(second.ending).toBe('nothing-to-do');

    const file = `NEW-${root.split('/').pop()}`;
    const next = await repo.push(file, 'pushed\n');
    const third = await run(fn, [target()]);
    expect(statuses(third.executed)).toEqual(['git.repo:changed', 'git.repo:no-change']);
    expect(seen.head).toBe(next);
    expect(await readFile(join(main, file), 'utf8')).toBe('pushed\n');
    return { main, pinned, file };
  }

  it('on @local: clones, pins a tag, no change the second time, pulls what was pushed', async () => {
    const root = join(repo.dir, 'local');
    await cloneTwiceThenPull(() => localHost('@local'), root);
  });

  it('on @ssh as infra-sudo with sudo: the trees owned by user/group', async () => {
    const root = join(repo.dir, 'ssh');
    const { main, file } = await cloneTwiceThenPull(() => sshHost(sshd, 'web1'), root, {
      user: TEST_USERS.plain.name,
      group: TEST_USERS.plain.name,
      _sudo: true,
    });
    const owner = await stat(join(main, file));
    expect(owner.uid).not.toBe(0);
    expect(owner.uid).toBe((await stat(main)).uid);
  });

  it('over an ssh remote: sshKeyscan trusts the host first, then git clones through sshd', async () => {
    const home = join(repo.dir, 'home');
    await mkdir(home, { recursive: true });
    const key = join(home, 'id_ed25519');
    await copyFile(sshd.clientKey.privateKeyPath, key);
    await chmod(key, 0o600);
    const dest = join(repo.dir, 'over-ssh');
    const env = {
      HOME: home,
      GIT_SSH_COMMAND: `ssh -i ${key} -o BatchMode=yes -o UserKnownHostsFile=${home}/.ssh/known_hosts`,
    };
    const fn: DeployFunction = async ({ ops }) => {
      await ops.git.repo({
        src: `ssh://${TEST_USERS.plain.name}@${sshd.host}:${sshd.port}${repo.bareForSsh}`,
        dest,
        branch: 'main',
        sshKeyscan: true,
        _env: env,
      });
    };
    const dry = await run(fn, [localHost('@local')], { dry: true });
    expect(dry.planned[0]?.commands.some((c) => c.includes('ssh-keyscan -p'))).toBe(true);
    const first = await run(fn, [localHost('@local')]);
    expect(first.failedHosts).toEqual(new Map());
    expect(await readFile(join(dest, 'README'), 'utf8')).toBe('version 2\n');
    expect(await readFile(join(home, '.ssh', 'known_hosts'), 'utf8')).toContain(
      `[127.0.0.1]:${sshd.port}`,
    );
    const second = await run(fn, [localHost('@local')]);
    expect(second.ending).toBe('nothing-to-do');
    await rm(dest, { recursive: true, force: true });
  });
});
