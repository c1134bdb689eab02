import { buildDebianImage, type TestDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll } from 'vitest';
import type { RunHost } from '../src/index.js';
import { containerExec, dockerHost, removeContainer, startContainer } from './hosts.js';

/** The one include list of the Debian tests: one debootstrap, cached by the testkit fixture. */
export const DEBIAN_INCLUDE = ['systemd', 'systemd-sysv', 'dnf', 'rpm', 'createrepo-c'];

export interface DebianContainerOptions {
  /** The host's name, and the image's tag (`infra-test/NAME:latest`). */
  readonly name: string;
  /** The container's create spec beside `Image`: `Cmd`, `Env`, `HostConfig`. */
  readonly spec: Record<string, unknown>;
  /** Set-up inside the started container (wait for systemd, build packages). */
  readonly ready?: (sh: (command: string) => Promise<string>) => Promise<void>;
}

/**
 * A container of the cached Debian image for the enclosing describe block: the image
 * built (or found cached) and the container started in `beforeAll`, removed in
 * `afterAll`. Gives the host to deploy to and a shell inside it.
 */
export function useDebianContainer(
  dockerd: TestDockerd | undefined,
  options: DebianContainerOptions,
): { host: () => RunHost; sh: (command: string) => Promise<string> } {
  let container: string | undefined;
  const sh = (command: string) => containerExec(dockerd!, container!, command);
  beforeAll(async () => {
    const image = await buildDebianImage(dockerd!, {
      include: DEBIAN_INCLUDE,
      tag: `infra-test/${options.name}:latest`,
    });
    container = await startContainer(dockerd!, { Image: image.tag, ...options.spec });
    await options.ready?.(sh);
  }, 300_000);
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });
  return { host: () => dockerHost(dockerd!, container!, {}, options.name), sh };
}
