import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describeInventoryConnector, useDockerd } from '@infra/connector-testkit';
import { collectNamesData } from '@infra/core';
import { ConnectorResolver } from '@infra/core/resolver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerConnector, DockerContainersInventoryConnector } from '../src/index.js';
import { dockerClient, withEnv } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();
// Labels of this run only: other test files share the dockerd.
const run = randomBytes(4).toString('hex');
const host = dockerd?.host ?? 'unix:///nowhere';

/** name, labels, running: what the test starts on the test dockerd. */
const CONTAINERS: [string, Record<string, string>, boolean][] = [
  [`inv-${run}-api-1`, { [`infra-${run}-role`]: 'api', 'com.docker.compose.service': 'api' }, true],
  [`inv-${run}-api-2`, { [`infra-${run}-role`]: 'api', 'com.docker.compose.service': 'api' }, true],
  [`inv-${run}-web-1`, { [`infra-${run}-role`]: 'web', 'com.docker.compose.service': 'web' }, true],
  [`inv-${run}-worker`, { [`infra-${run}-role`]: 'worker' }, true],
  [`inv-${run}-api-stopped`, { [`infra-${run}-role`]: 'api' }, false],
];
const ids = new Map<string, string>();

const started = (names: string[]) => names.map((name) => `@docker:${ids.get(name)}`);

describe.skipIf(skip !== undefined)('@docker-containers on the test dockerd', () => {
  beforeAll(async () => {
    const docker = dockerClient(dockerd!);
    for (const [name, labels, running] of CONTAINERS) {
      const container = await docker.createContainer({
        name,
        Image: dockerd!.images.busybox,
        Cmd: ['sleep', '3600'],
        Labels: labels,
        HostConfig: { NetworkMode: 'none' },
      });
      if (running) await container.start();
      ids.set(name, container.id.slice(0, 12));
    }
  });

  afterAll(async () => {
    const docker = dockerClient(dockerd!);
    await Promise.all(
      [...ids.values()].map((id) =>
        docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
  });

  it('selects running containers by label, grouped by compose service', async () => {
    const yielded = await collectNamesData(
      DockerContainersInventoryConnector,
      `label=infra-${run}-role=api,host=${host}`,
    );
    expect(yielded.map(([name]) => name)).toEqual(
      started([`inv-${run}-api-1`, `inv-${run}-api-2`]),
    );
    expect(yielded[0]?.[2]).toEqual(['api']);
    expect(yielded[0]?.[1]).toEqual({
      docker_container_name: `inv-${run}-api-1`,
      docker_image: dockerd!.images.busybox,
      docker_host: host,
    });
  });

  it('matches name globs as globs, ORs them, and ANDs the other filters', async () => {
    const byGlob = await collectNamesData(
      DockerContainersInventoryConnector,
      `name=inv-${run}-*-1,host=${host}`,
    );
    expect(byGlob.map(([name]) => name)).toEqual(started([`inv-${run}-api-1`, `inv-${run}-web-1`]));
    // Docker's own name filter is a regular expression search: `api-?` would match
    // `api-stopped` and more. Here `?` is one character and the glob is whole.
    const oneChar = await collectNamesData(
      DockerContainersInventoryConnector,
      `name=inv-${run}-api-?,name=inv-${run}-work*,host=${host}`,
    );
    expect(oneChar.map(([name]) => name)).toEqual(
      started([`inv-${run}-api-1`, `inv-${run}-api-2`, `inv-${run}-worker`]),
    );
    const anded = await collectNamesData(
      DockerContainersInventoryConnector,
      `ancestor=${dockerd!.images.busybox},label=infra-${run}-role,name=*-w*,host=${host}`,
    );
    expect(anded.map(([name]) => name)).toEqual(started([`inv-${run}-web-1`, `inv-${run}-worker`]));
    expect(anded.find(([name]) => name.endsWith(ids.get(`inv-${run}-worker`)!))?.[2]).toEqual([]);
    const none = await collectNamesData(
      DockerContainersInventoryConnector,
      `label=infra-${run}-role=nobody,host=${host}`,
    );
    expect(none).toEqual([]);
  });

  it('takes the daemon from DOCKER_HOST when the filter names none', async () => {
    await withEnv('DOCKER_HOST', host, async () => {
      const yielded = await collectNamesData(
        DockerContainersInventoryConnector,
        `label=infra-${run}-role=web`,
      );
      expect(yielded.map(([name, data]) => [name, data.docker_host])).toEqual([
        [started([`inv-${run}-web-1`])[0], host],
      ]);
    });
  });

  it('names the socket when the daemon is not there', async () => {
    await expect(
      collectNamesData(
        DockerContainersInventoryConnector,
        'label=role=web,host=unix:///tmp/infra-no-such-dockerd.sock',
      ),
    ).rejects.toMatchObject({
      code: 'INVENTORY_INVALID',
      message: expect.stringMatching(/unix:\/\/\/tmp\/infra-no-such-dockerd\.sock.*not reachable/),
    });
  });

  it('is registered beside docker in package.json, and the resolver loads it (built dist)', async () => {
    const packageDir = fileURLToPath(new URL('..', import.meta.url));
    const pkg = JSON.parse(await readFile(`${packageDir}/package.json`, 'utf8'));
    expect(pkg.infra.connectors['docker-containers']).toBe(
      './dist/index.js#DockerContainersInventoryConnector',
    );
    const resolver = new ConnectorResolver({ projectDir: packageDir });
    const loaded = await resolver.load('docker-containers');
    expect(loaded.connectorClass.handlesExecution).toBe(false);
    expect(loaded.connectorClass.name).toBe('DockerContainersInventoryConnector');
    expect((await resolver.load('docker')).connectorClass.handlesExecution).toBe(true);
  });

  describeInventoryConnector({
    name: 'docker-containers (labels on the test dockerd)',
    connectorName: 'docker-containers',
    connectorClass: DockerContainersInventoryConnector,
    cases: [
      { arg: `label=infra-${run}-role=api,host=${host}`, groups: ['api'] },
      { arg: `name=inv-${run}-web-*,host=${host}`, groups: ['web'] },
    ],
    invalid: [
      { arg: 'role=web', message: /unknown filter "role".*label=KEY=VALUE, name=GLOB/ },
      { arg: 'label=', message: /"label=" has no value.*expected comma-separated/ },
      { arg: 'label=role=web,,name=x', message: /empty filter.*label=KEY/ },
      { arg: 'name=api[0-9]', message: /"name=api\[0-9\]" is not a name glob/ },
      {
        arg: 'label=a,host=ssh://box',
        message: /ssh:\/\/box\/var\/run\/docker\.sock .* is reached over ssh/,
      },
      {
        arg: 'label=a,host=npipe:////./pipe/x',
        message: /not a daemon address this connector can use/,
      },
    ],
    executingConnectors: { docker: DockerConnector },
  });
});
