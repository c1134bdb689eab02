// `@docker:IMAGE` through the real `infra` binary and a throwaway dockerd: a new image is
// committed only when something ran that could change the container (a command of the
// execute pass, exec's command, a put), never for --dry, facts or a failed plan, and its
// ID is printed at normal verbosity.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildBusyboxImage,
  type DockerdFixture,
  dockerdMissingReason,
  peerMissing,
  startDockerd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInfra } from './infra-process.js';

const skip = peerMissing('dockerd', dockerdMissingReason());

describe.skipIf(skip !== undefined)('infra @docker:IMAGE (image mode)', () => {
  let dockerd: DockerdFixture;
  let image: string;
  let dir: string;

  beforeAll(async () => {
    dockerd = await startDockerd();
    image = await buildBusyboxImage(dockerd, { tag: 'infra-cli-test/busybox:latest' });
    dir = await mkdtemp(join(tmpdir(), 'infra-cli-docker-image-'));
    await writeFile(
      join(dir, 'changes.ts'),
      "import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops }) => {\n  await ops.files.directory({ path: '/srv/app' });\n});\n",
    );
    await writeFile(
      join(dir, 'fails-to-plan.ts'),
      "import { deploy } from '@infra/deploy';\nexport default deploy(async ({ ops, facts }) => {\n  await facts.server.os();\n  await ops.server.shell({ commands: 'touch /never' });\n  throw new Error('the plan breaks here');\n});\n",
    );
  });

  afterAll(async () => {
    await dockerd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The daemon's image IDs, untagged ones too. */
  const imageIds = async (): Promise<string[]> => {
    const response = await dockerd.api('GET', '/images/json?all=true');
    return (response.json as { Id: string }[]).map((i) => i.Id);
  };

  const infra = (args: string[]) =>
    runInfra(
      [
        `@docker:${image}`,
        '--data',
        `docker_host=${dockerd.host}`,
        '--data',
        'docker_network=none',
        ...args,
      ],
      { cwd: dir },
    );

  it.each([
    ['a fact', ['fact', 'server.os'], 0],
    ['a --dry deploy', ['changes.ts', '--dry'], 0],
    ['a plan that fails', ['fails-to-plan.ts', '-y'], 1],
  ])('commits nothing for %s', async (_, args, code) => {
    const before = await imageIds();
    const result = await infra(args as string[]);
    expect(result.code).toBe(code);
    expect(result.stderr).not.toContain('image ID');
    expect(await imageIds()).toEqual(before);
  });

  it('commits a deploy that ran and prints the new image ID without -v', async () => {
    const before = await imageIds();
    const result = await infra(['changes.ts', '-y']);
    expect(result.code).toBe(0);
    const added = (await imageIds()).filter((id) => !before.includes(id));
    expect(added).toHaveLength(1);
    expect(result.stderr).toContain(`docker build complete, image ID: ${added[0]!.slice(7, 19)}`);
  });

  it('commits what exec ran, tagged with docker_commit_tag', async () => {
    const result = await infra([
      '--data',
      'docker_commit_tag=infra-cli-test/built:v1',
      'exec',
      '--',
      'sh',
      '-c',
      'echo built > /built.txt',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/image ID: [0-9a-f]{12} \(tagged infra-cli-test\/built:v1\)/);
    const built = await dockerd.api('GET', '/images/infra-cli-test%2Fbuilt:v1/json');
    expect(built.status).toBe(200);
  });
});
