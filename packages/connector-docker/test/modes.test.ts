import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { useDockerd } from '@infra/connector-testkit';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContainerStoppedError } from '../src/index.js';
import { dockerClient, dockerConnector, eventually } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();

async function containerExists(docker: Docker, id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(skip !== undefined)('@docker:IMAGE', () => {
  let docker: Docker;

  beforeAll(() => {
    docker = dockerClient(dockerd!);
  });

  it('runs in a new container, commits it with the tag, removes it and logs the image ID', async () => {
    const { connector, log } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
      docker_commit_tag: 'infra-test/built:v1',
    });
    await connector.connect();
    expect(connector.mode).toBe('image');
    const id = connector.containerId!;
    await connector.runShellCommand('echo built > /built.txt');
    await connector.disconnect();

    expect(await containerExists(docker, id)).toBe(false);
    const image = await docker.getImage('infra-test/built:v1').inspect();
    expect(image.Id).toBe(connector.committedImageId);
    // The image's own command comes back, not the connector's keep-alive process.
    expect(image.Config.Cmd).toEqual(['/bin/sh']);
    expect(image.Config.Entrypoint ?? []).toEqual([]);
    expect(log.text()).toContain(`image ID: ${image.Id.slice(7, 19)}`);

    // The commit holds what the deploy did.
    const { connector: fromBuilt } = dockerConnector(dockerd!, {
      docker_identifier: 'infra-test/built:v1',
      docker_commit: false,
    });
    await fromBuilt.connect();
    const content = await fromBuilt.runShellCommand('cat /built.txt');
    expect(content.output.stdout).toBe('built');
    await fromBuilt.disconnect();
  });

  it('commits nothing when only read-only commands (facts) ran and files were read', async () => {
    const before = (await docker.listImages({ all: true })).length;
    const { connector, log } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
    });
    await connector.connect();
    const read = await connector.runShellCommand('uname -s', { readOnly: true });
    expect(read.output.stdout).toBe('Linux');
    const chunks: Buffer[] = [];
    await connector.getFile(
      '/etc/passwd',
      new Writable({
        write(chunk, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    await connector.disconnect();
    expect(Buffer.concat(chunks).toString()).toContain('root');
    expect(connector.committedImageId).toBeUndefined();
    expect((await docker.listImages({ all: true })).length).toBe(before);
    expect(log.text()).toContain('no image committed');
  });

  it('commits after a put alone, and says the image ID as a notice', async () => {
    const before = (await docker.listImages({ all: true })).length;
    const { connector, log } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
    });
    await connector.connect();
    await connector.putFile(Buffer.from('put\n'), '/put.txt');
    await connector.disconnect();
    expect(connector.committedImageId).toMatch(/^sha256:/);
    expect((await docker.listImages({ all: true })).length).toBe(before + 1);
    expect(log.messages).toContainEqual({
      level: 'notice',
      message: `docker build complete, image ID: ${connector.committedImageId!.slice(7, 19)}`,
    });
    await docker.getImage(connector.committedImageId!).remove();
  });

  it('skips the commit with docker_commit false, and still removes the container', async () => {
    const before = (await docker.listImages()).length;
    const { connector, log } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
      docker_commit: false,
    });
    await connector.connect();
    const id = connector.containerId!;
    await connector.disconnect();
    await connector.disconnect();
    expect(await containerExists(docker, id)).toBe(false);
    expect(connector.committedImageId).toBeUndefined();
    expect((await docker.listImages()).length).toBe(before);
    expect(log.text()).not.toContain('image ID');
  });

  it('takes the platform it is given', async () => {
    const { connector } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
      docker_platform: 'linux/amd64',
      docker_commit: false,
    });
    await connector.connect();
    const arch = await connector.runShellCommand('uname -m');
    expect(arch.output.stdout).toBe('x86_64');
    await connector.disconnect();
  });

  it('fails naming the image and the daemon when the image cannot be pulled', async () => {
    // Port 1 on loopback: the registry refuses at once (there is no network here anyway).
    const image = '127.0.0.1:1/infra-test/not-here:1';
    const { connector, log } = dockerConnector(dockerd!, { docker_identifier: image });
    const error = await connector.connect().catch((e: Error & { code?: string }) => e);
    expect((error as { code?: string }).code).toBe('CONNECT_FAILED');
    expect((error as Error).message).toContain(image);
    expect((error as Error).message).toContain(dockerd!.host);
    expect((error as Error).message).toMatch(/pulling the image failed/);
    expect(log.text()).toContain(`pulling it through ${dockerd!.host}`);
    await connector.disconnect();
  });

  it('fails with a ConnectError naming the socket when the daemon is not there', async () => {
    const { connector } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
      docker_host: 'unix:///tmp/infra-no-dockerd-here.sock',
    });
    const error = await connector.connect().catch((e: Error & { code?: string }) => e);
    expect((error as { code?: string }).code).toBe('CONNECT_FAILED');
    expect((error as Error).message).toContain('unix:///tmp/infra-no-dockerd-here.sock');
    expect((error as Error).message).toContain('not reachable');
  });

  it('fails naming the tcp address when nothing listens there', async () => {
    const { connector } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
      docker_host: 'tcp://127.0.0.1:1',
    });
    const error = await connector.connect().catch((e: Error) => e);
    expect((error as { code?: string }).code).toBe('CONNECT_FAILED');
    expect((error as Error).message).toContain('tcp://127.0.0.1:1');
  });

  it('removes the container when the process is interrupted (Ctrl-C) or killed', async () => {
    const child = fileURLToPath(new URL('./fixtures/connect-and-wait.mjs', import.meta.url));
    const dist = fileURLToPath(new URL('../dist/index.js', import.meta.url));
    expect(existsSync(dist), 'build the package first (pnpm build)').toBe(true);
    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      const proc = spawn(process.execPath, [child, dockerd!.host, dockerd!.images.busybox], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const id = await new Promise<string>((resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const line = /^container (\w+)$/m.exec(out);
          if (line) resolve(line[1] as string);
        });
        proc.once('exit', (code) =>
          reject(new Error(`child exited (${code}) before connecting: ${out}`)),
        );
      });
      expect(await containerExists(docker, id)).toBe(true);
      proc.kill(signal);
      expect(await eventually(async () => !(await containerExists(docker, id)))).toBe(true);
    }
  });

  it('fails the running command and the rest of the run when the container dies', async () => {
    const { connector, log } = dockerConnector(dockerd!, {
      docker_identifier: dockerd!.images.busybox,
    });
    await connector.connect();
    const running = connector
      .runShellCommand('echo started; sleep 30; echo never')
      .catch((e: Error) => e);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await docker.getContainer(connector.containerId!).kill();
    const error = await running;
    expect(error).toBeInstanceOf(ContainerStoppedError);
    expect((error as Error).message).toMatch(
      /stopped \(now \w+\) while running echo started; sleep 30/,
    );
    const next = await connector.runShellCommand('true').catch((e: Error) => e);
    expect(next).toBeInstanceOf(ContainerStoppedError);
    expect((next as Error).message).toContain('Cannot run true');
    await connector.disconnect();
    expect(log.text()).toContain('nothing was committed');
  });
});

describe.skipIf(skip !== undefined)('@docker:CONTAINER', () => {
  let docker: Docker;
  let container: Docker.Container;

  beforeAll(async () => {
    docker = dockerClient(dockerd!);
    container = await docker.createContainer({
      name: 'infra-existing',
      Image: dockerd!.images.busybox,
      // Exits at once on SIGTERM, so `docker stop` takes no 10 s.
      Cmd: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 1; done'],
      HostConfig: { NetworkMode: 'none' },
    });
  });

  afterAll(async () => {
    await container?.remove({ force: true }).catch(() => {});
  });

  it('starts a stopped container, commits it at the end and stops it again', async () => {
    const { connector, log } = dockerConnector(dockerd!, {
      docker_identifier: 'infra-existing',
      docker_commit_tag: 'infra-test/existing:committed',
    });
    await connector.connect();
    expect(connector.mode).toBe('container');
    expect(connector.containerId).toBe(container.id);
    await connector.runShellCommand('echo changed > /changed.txt');
    await connector.disconnect();
    expect(log.text()).toContain('Starting stopped container infra-existing');
    const image = await docker.getImage('infra-test/existing:committed').inspect();
    expect(image.Id).toBe(connector.committedImageId);
    const state = await container.inspect();
    expect(state.State.Running).toBe(false);
  });

  it('leaves a running container running, uncommitted', async () => {
    await container.start();
    const { connector, log } = dockerConnector(dockerd!, {
      docker_identifier: container.id.slice(0, 12),
    });
    await connector.connect();
    const content = await connector.runShellCommand('cat /changed.txt');
    expect(content.output.stdout).toBe('changed');
    await connector.disconnect();
    expect(connector.committedImageId).toBeUndefined();
    expect(log.text()).not.toContain('image ID');
    expect((await container.inspect()).State.Running).toBe(true);
    await container.stop({ t: 5 });
  });
});
