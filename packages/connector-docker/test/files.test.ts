import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_USERS, useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerConnector } from '../src/index.js';
import { dockerConnector } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();

describe.skipIf(skip !== undefined)('files through the archive API', () => {
  let connector: DockerConnector;
  let localDir: string;

  beforeAll(async () => {
    ({ connector } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
      docker_commit: false,
    }));
    await connector.connect();
    localDir = await mkdtemp(join(tmpdir(), 'infra-docker-files-'));
  });

  afterAll(async () => {
    await connector?.disconnect();
    if (localDir) await rm(localDir, { recursive: true, force: true });
  });

  it('moves 8 MiB of random bytes both ways unchanged', async () => {
    const bytes = randomBytes(8 * 2 ** 20);
    const local = join(localDir, 'big.bin');
    await writeFile(local, bytes);
    await connector.putFile(local, '/tmp/big.bin');
    const sum = await connector.runShellCommand('sha256sum /tmp/big.bin');
    const { createHash } = await import('node:crypto');
    expect(sum.output.stdout.split(' ')[0]).toBe(createHash('sha256').update(bytes).digest('hex'));
    const back = join(localDir, 'back.bin');
    await connector.getFile('/tmp/big.bin', back);
    expect((await readFile(back)).equals(bytes)).toBe(true);
  });

  it('renames through a helper loop that survives odd paths and being killed', async () => {
    // Names `read` and `$(...)` would mangle: a trailing newline, backslashes, a leading dash.
    const names = ['trailing-newline\n', 'back\\slash \\n', '-dash', 'percent %s %d'];
    await connector.runShellCommand('mkdir -p /tmp/odd');
    for (const name of names) {
      await connector.putFile(Buffer.from(name), `/tmp/odd/${name}`);
    }
    const listed = await connector.runShellCommand(
      'cd /tmp/odd && for f in *; do printf "[%s]" "$f"; cat -- "$f"; echo; done',
    );
    expect(listed.output.stdout.split('\n').filter(Boolean).sort()).toEqual(
      names
        .map((name) => `[${name}]${name}`)
        .join('\n')
        .split('\n')
        .filter(Boolean)
        .sort(),
    );
    // One helper loop runs; kill it: the next put starts a new one.
    const helpers =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      'for p in /proc/[0-9]*; do if grep -q "while IFS= rea[d] -r t" "$p/cmdline" 2>/dev/null; then echo "${p#/proc/}"; fi; done';
    const running = await connector.runShellCommand(helpers);
    expect(running.output.stdoutLines).toHaveLength(1);
    await connector.runShellCommand(`kill -9 ${running.output.stdout}`);
    await connector.putFile(Buffer.from('after'), '/tmp/odd/after-kill.txt');
    const after = await connector.runShellCommand(
      'cat /tmp/odd/after-kill.txt; echo; ls -A /tmp/odd | grep -c infra || true',
    );
    expect(after.output.stdoutLines).toEqual(['after', '0']);
    const again = await connector.runShellCommand(helpers);
    expect(again.output.stdoutLines).toHaveLength(1);
    expect(again.output.stdout).not.toBe(running.output.stdout);
  });

  it('keeps the mode of the file it replaces, and sets a new file to 0644', async () => {
    await connector.putFile(Buffer.from('#!/bin/sh\necho one\n'), '/tmp/script.sh', {
      mode: 0o750,
    });
    await connector.putFile(Buffer.from('#!/bin/sh\necho two\n'), '/tmp/script.sh');
    const run = await connector.runShellCommand('/tmp/script.sh; stat -c %a /tmp/script.sh');
    expect(run.output.stdoutLines).toEqual(['two', '750']);
    await connector.putFile(Buffer.from('x'), '/tmp/new-file.txt');
    const mode = await connector.runShellCommand('stat -c %a /tmp/new-file.txt');
    expect(mode.output.stdout).toBe('644');
  });

  it('gives the file to docker_user, and resolves relative paths from the working directory', async () => {
    const { connector: asPlain } = dockerConnector(dockerd!, {
      docker_identifier: connector.containerId,
      docker_user: TEST_USERS.plain.name,
    });
    await asPlain.connect();
    try {
      await asPlain.putFile(Buffer.from('mine'), `/home/${TEST_USERS.plain.name}/mine.txt`);
      const owner = await asPlain.runShellCommand(
        `stat -c %U /home/${TEST_USERS.plain.name}/mine.txt`,
      );
      expect(owner.output.stdout).toBe(TEST_USERS.plain.name);
      // The exec user may not write in /: the rename fails, and nothing is left behind.
      const denied = await asPlain.putFile(Buffer.from('no'), '/denied.txt').catch((e: Error) => e);
      expect((denied as { code?: string }).code).toBe('FILE_TRANSFER_FAILED');
      expect((denied as Error).message).toContain('/denied.txt');
      const left = await connector.runShellCommand('ls -A / | grep -c infra || true');
      expect(left.output.stdout).toBe('0');
    } finally {
      await asPlain.disconnect();
    }
    await connector.putFile(Buffer.from('relative'), 'relative.txt');
    const shown = await connector.runShellCommand('cat /relative.txt');
    expect(shown.output.stdout).toBe('relative');
  });

  it('follows symbolic links on get, and refuses directories', async () => {
    await connector.runShellCommand(
      'echo target > /tmp/target.txt && ln -sf target.txt /tmp/link.txt',
    );
    const local = join(localDir, 'via-link.txt');
    await connector.getFile('/tmp/link.txt', local);
    expect(await readFile(local, 'utf8')).toBe('target\n');
    expect((await stat(local)).mode & 0o777).toBe(0o644);

    const getDir = await connector.getFile('/tmp', join(localDir, 'dir')).catch((e: Error) => e);
    expect((getDir as Error).message).toMatch(/"\/tmp" is a directory/);
    const putDir = await connector.putFile(Buffer.from('x'), '/tmp').catch((e: Error) => e);
    expect((putDir as Error).message).toMatch(/"\/tmp" is a directory/);
    const underFile = await connector
      .putFile(Buffer.from('x'), '/tmp/target.txt/inside.txt')
      .catch((e: Error) => e);
    expect((underFile as Error).message).toMatch(/"\/tmp\/target.txt".*not a directory/);
  });
});
