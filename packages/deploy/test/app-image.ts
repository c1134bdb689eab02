import { buildDebianImage, type DebianImage, type TestDockerd } from '@infra/connector-testkit';
import { containerExec, startContainer } from './hosts.js';

/**
 * The Debian bookworm image an application deploy needs: systemd as PID 1, git,
 * ssh-keyscan, python3 -m venv. One debootstrap, cached beside the apt/dnf image.
 */
export const APP_IMAGE_PACKAGES = [
  'git',
  'openssh-client',
  'python3-venv',
  'systemd',
  'systemd-sysv',
];

export function buildAppImage(dockerd: TestDockerd): Promise<DebianImage> {
  return buildDebianImage(dockerd, {
    tag: 'infra-test/debian-app:latest',
    include: APP_IMAGE_PACKAGES,
  });
}

/** Start a container with systemd as PID 1 (as the systemd test does) and wait until it runs. */
export async function startSystemdContainer(
  dockerd: TestDockerd,
  image: string,
  hostConfig: Record<string, unknown> = {},
): Promise<string> {
  // Not privileged; the cgroup v1 hierarchy read-only and tmpfs on /run are what systemd needs.
  const container = await startContainer(dockerd, {
    Image: image,
    Cmd: ['/sbin/init'],
    Env: ['container=docker'],
    HostConfig: {
      NetworkMode: 'none',
      Tmpfs: { '/run': '', '/run/lock': '', '/tmp': '' },
      Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro'],
      ...hostConfig,
    },
  });
  await waitForSystemd(dockerd, container);
  return container;
}

/** Until `systemctl is-system-running` says running or degraded (10 s at most). */
export async function waitForSystemd(dockerd: TestDockerd, container: string): Promise<void> {
  let state = '';
  for (let i = 0; i < 100; i++) {
    state = await containerExec(dockerd, container, 'systemctl is-system-running');
    if (state === 'running' || state === 'degraded') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`systemd did not reach running within 10 s (last state: ${state})`);
}
