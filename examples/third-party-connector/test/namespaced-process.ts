import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';

/** Why a process in namespaces of its own cannot be started and entered here, or undefined. */
export function namespacedProcessMissingReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'nsenter needs root: run the tests as root, as CI does';
  for (const program of ['unshare', 'nsenter']) {
    if (spawnSync(program, ['--version'], { stdio: 'ignore' }).error) {
      return `${program} is not on PATH (util-linux)`;
    }
  }
  return undefined;
}

export interface NamespacedProcess {
  readonly pid: number;
  stop(): Promise<void>;
}

/** A `sleep` in a UTS namespace of its own whose host name is `hostname`, once it is set. */
export async function startNamespacedProcess(hostname: string): Promise<NamespacedProcess> {
  const child = spawn(
    'unshare',
    ['--uts', '--', 'sh', '-c', `hostname ${hostname} && echo ready && exec sleep 100000`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  if (chunk.toString() !== 'ready\n' || child.pid === undefined) {
    child.kill('SIGKILL');
    throw new Error(`unshare did not start: ${chunk.toString()}`);
  }
  const { pid } = child;
  return {
    pid,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
