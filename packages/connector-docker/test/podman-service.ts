import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBusyboxImage, dockerApi, notRootReason, peerMissing } from '@infra/connector-testkit';

/**
 * `podman system service` on a socket of its own, with its own storage (`--root`,
 * `--runroot`, vfs) under a temporary folder, so nothing of the machine's podman
 * is touched, and a busybox image imported through its Docker-compatible API.
 */
export interface PodmanService {
  /** `unix:///tmp/.../podman.sock`, for docker_host. */
  readonly host: string;
  readonly socketPath: string;
  /** The busybox test image, as podman names it. */
  readonly image: string;
  stop(): Promise<void>;
}

/**
 * Podman (through runc) always sets RLIMIT_NPROC and RLIMIT_NOFILE for a
 * container, by default to the maximum. Where the process may not raise them
 * (no CAP_SYS_RESOURCE, as in this project's sandbox) the container fails with
 * `error setting rlimit type 6: operation not permitted`: ask for limits low
 * enough to be a lowering everywhere.
 */
const CONTAINERS_CONF = `[containers]
default_ulimits = ["nproc=1024:1024", "nofile=1024:1024"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
# conmon keeps an exec's exit code this long for the API (default 300 s).
exit_command_delay = 5
`;

/** Processes whose command line names `dir` (podman's conmons for this service): ours to end. */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {
      // Gone already.
    }
  }
  return pids;
}

function podmanMissing(): string | undefined {
  const notRoot = notRootReason();
  if (notRoot) return notRoot;
  const probe = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return 'podman is not installed (apt-get install podman); the Docker-compatible API of podman is not tested';
  }
  return undefined;
}

async function waitForSocket(socketPath: string, service: ChildProcess, log: () => string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (service.exitCode !== null) {
      throw new Error(`podman system service exited (${service.exitCode}): ${log()}`);
    }
    if (existsSync(socketPath)) {
      const ping = await dockerApi(socketPath, 'GET', '/_ping').catch(() => undefined);
      if (ping?.status === 200) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`podman system service did not answer on ${socketPath} in 20 s: ${log()}`);
}

/** Start the service, or say why it cannot run here (skip locally, fail under CI). */
export async function usePodman(): Promise<{ podman?: PodmanService; skip?: string }> {
  const skip = peerMissing('podman', podmanMissing());
  if (skip !== undefined) return { skip };
  const dir = await mkdtemp(join(tmpdir(), 'infra-podman-'));
  const socketPath = join(dir, 'podman.sock');
  const conf = join(dir, 'containers.conf');
  await writeFile(conf, CONTAINERS_CONF);
  const storage = [
    '--root',
    join(dir, 'root'),
    '--runroot',
    join(dir, 'run'),
    '--storage-driver',
    'vfs',
  ];
  const env = { ...process.env, CONTAINERS_CONF: conf, XDG_RUNTIME_DIR: join(dir, 'xdg') };
  let output = '';
  const service = spawn(
    'podman',
    [...storage, 'system', 'service', '--time', '0', `unix://${socketPath}`],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  service.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  service.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const stop = async () => {
    if (service.exitCode === null) {
      const exited = new Promise((resolve) => service.once('exit', resolve));
      service.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (service.exitCode === null) service.kill('SIGKILL');
    }
    spawnSync('podman', [...storage, 'system', 'reset', '--force'], { env, stdio: 'ignore' });
    // conmon outlives an exec by exit_command_delay: end the ones this service started.
    for (const pid of processesUsing(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitForSocket(socketPath, service, () => output);
    const api = (method: string, path: string, body?: unknown) =>
      dockerApi(socketPath, method, path, body);
    const image = await buildBusyboxImage({ api }, { tag: 'localhost/infra-test/busybox:latest' });
    return { podman: { host: `unix://${socketPath}`, socketPath, image, stop } };
  } catch (error) {
    await stop();
    const reason = `podman system service could not run a test image: ${(error as Error).message}`;
    return { skip: peerMissing('podman', reason) };
  }
}
