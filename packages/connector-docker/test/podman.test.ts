import {
  allByteValues,
  createTestHost,
  dockerApi,
  RecordingLogger,
} from '@infra/connector-testkit';
import { buildConnectorData } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_DATA_META, DockerConnector } from '../src/index.js';
import { usePodman } from './podman-service.js';

// Podman's Docker-compatible API (`podman system service`), through the same code.
const { podman, skip } = await usePodman();

function podmanConnector(hostData: Record<string, unknown>): DockerConnector {
  const data = { docker_host: podman!.host, docker_network: 'none', ...hostData };
  return new DockerConnector(
    createTestHost({
      name: `@docker:${String(data.docker_identifier)}`,
      data: buildConnectorData('docker', DOCKER_DATA_META, data),
      hostData: data,
      log: new RecordingLogger(),
    }),
  );
}

describe.skipIf(skip !== undefined)('podman system service (Docker-compatible API)', () => {
  afterAll(async () => {
    await podman?.stop();
  });

  describe('a container from an image', () => {
    let connector: DockerConnector;

    beforeAll(async () => {
      connector = podmanConnector({
        docker_identifier: podman!.image,
        docker_commit_tag: 'localhost/infra-test/podman-built:1',
      });
      await connector.connect();
    });

    it('runs commands: exit codes, stdout and stderr apart, env, chdir, stdin', async () => {
      const failed = await connector.runShellCommand('echo out; echo err >&2; exit 3');
      expect(failed.output.exitCode).toBe(3);
      expect(failed.output.stdoutLines).toEqual(['out']);
      expect(failed.output.stderrLines).toEqual(['err']);
      const result = await connector.runShellCommand('printf "%s|" "$V" "$(pwd)"; cat', {
        env: { V: "it's" },
        chdir: '/tmp',
        stdin: 'from stdin',
      });
      expect(result.output.stdout).toBe("it's|/tmp|from stdin");
    });

    it('kills a command past its timeout', async () => {
      await expect(connector.runShellCommand('sleep 30', { timeout: 1 })).rejects.toMatchObject({
        code: 'COMMAND_TIMEOUT',
      });
    });

    it('puts and gets every byte value, atomically, with the mode', async () => {
      const bytes = allByteValues();
      await connector.putFile(bytes, '/etc/infra.bin', { mode: 0o640 });
      const listed = await connector.runShellCommand('stat -c %a /etc/infra.bin; ls -a /etc');
      expect(listed.output.stdoutLines[0]).toBe('640');
      // No temp file left beside it.
      expect(listed.output.stdoutLines.filter((name) => name.includes('.infra-'))).toEqual([]);
      const chunks: Buffer[] = [];
      const { Writable } = await import('node:stream');
      await connector.getFile(
        '/etc/infra.bin',
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            chunks.push(chunk);
            done();
          },
        }),
      );
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    });

    it('commits the container to a tagged image at disconnect and removes it', async () => {
      const id = connector.containerId as string;
      await connector.disconnect();
      expect(connector.committedImageId).toMatch(/^(sha256:)?[0-9a-f]{64}$/);
      const image = await dockerApi(
        podman!.socketPath,
        'GET',
        '/images/localhost/infra-test/podman-built:1/json',
      );
      expect(image.status).toBe(200);
      let gone = false;
      for (let attempt = 0; attempt < 50 && !gone; attempt++) {
        gone =
          (await dockerApi(podman!.socketPath, 'GET', `/containers/${id}/json`)).status === 404;
        if (!gone) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(gone).toBe(true);
    });
  });

  it('names the podman socket when it is not there', async () => {
    const connector = podmanConnector({
      docker_identifier: podman!.image,
      docker_host: `${podman!.host}.missing`,
    });
    await expect(connector.connect()).rejects.toThrow(/podman\.sock\.missing.*not reachable/);
  });
});
