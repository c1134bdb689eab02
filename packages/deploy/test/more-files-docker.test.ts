import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerExec,
  dockerHost,
  removeContainer,
  run,
  startContainer,
  statuses,
} from './hosts.js';
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

const { dockerd, skip } = await useDockerd();

describe.skipIf(skip !== undefined)('files.sync and friends on @docker (busybox container)', () => {
  let dir: string;
  let container: string;
  const host = () => dockerHost(dockerd!, container, {}, 'bb');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-more-docker-'));
    container = await startContainer(dockerd!, {
      Image: dockerd!.images.busybox,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'none' },
    });
  });
  afterAll(async () => {
    await removeContainer(dockerd!, container);
    await rm(dir, { recursive: true, force: true });
  });

  it('change the container once, then report no change; --dry changes nothing', async () => {
    const tree = await makeTree(dir);
    const fetched = join(dir, 'fetched');
    const fn = moreFilesDeploy({ root: '/srv/more', tree, fetched, keysUser: 'root' });

    const dry = await run(fn, [host()], { dry: true });
    expect(dry.failedHosts).toEqual(new Map());
    expect(statuses(dry.planned)).toEqual(MORE_FILES_DRY);
    expect(await containerExec(dockerd!, container, 'ls /srv/more 2>&1 || echo missing')).toMatch(
      /No such file|missing/,
    );

    const first = await run(fn, [host()]);
    expect(first.failedHosts).toEqual(new Map());
    expect(statuses(first.executed)).toEqual(MORE_FILES_FIRST);
    expect(syncUploads(first.executed)).toHaveLength(1);
    expect(
      await containerExec(
        dockerd!,
        container,
        'cd /srv/more && find tree | sort && stat -c "%a %n" tree/run.sh ssh ssh/authorized_keys && cat conf.txt && ls new.txt',
      ),
    ).toBe(
      [
        'tree',
        ...SYNCED_TREE.map((p) => `tree/${p}`),
        '755 tree/run.sh',
        '700 ssh',
        '600 ssh/authorized_keys',
        ...CONF_AFTER.trimEnd().split('\n'),
        'new.txt',
      ].join('\n'),
    );
    expect(await containerExec(dockerd!, container, 'head -1 /srv/more/ssh/authorized_keys')).toBe(
      KEY_A,
    );
    expect(await readFile(join(fetched, 'sub', 'deeper', 'c.txt'), 'utf8')).toBe('c\n');

    const second = await run(fn, [host()]);
    expect(statuses(second.planned)).toEqual(MORE_FILES_SECOND);
    expect(second.ending).toBe('nothing-to-do');
  });

  it('ssh.keyscan names the missing tool on a host without ssh-keyscan', async () => {
    const outcome = await run(
      async ({ ops }) => {
        await ops.ssh.keyscan({ hostname: 'example.invalid' });
      },
      [host()],
    );
    expect(outcome.failedHosts.get('bb')?.message).toContain(
      'ssh-keyscan is not installed on this host: install OpenSSH client tools',
    );
  });
});
