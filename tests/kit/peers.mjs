// Real peers for the kit tests: a process in a namespace of its own to nsenter into, and
// the reason a peer is missing (a loud skip locally, a failure under CI=true, as in the testkit).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';

export function isCI() {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Skip `t` (a node:test context) when `reason` is set, saying why; under CI a
 * missing peer fails the test instead. Returns true when the test must stop.
 */
export function skipWithoutPeer(t, peer, reason) {
  if (reason === undefined) return false;
  const message = `${peer} is not available here: ${reason}`;
  if (isCI()) throw new Error(message);
  process.stderr.write(`\n[kit] SKIPPING: ${message}\n`);
  t.skip(message);
  return true;
}

/** Why a process in a namespace of its own cannot be started and entered with nsenter here. */
export function namespacedProcessMissingReason() {
  if (process.getuid?.() !== 0) return 'nsenter needs root: run the tests as root, as CI does';
  for (const program of ['unshare', 'nsenter']) {
    if (spawnSync(program, ['--version'], { stdio: 'ignore' }).error) {
      return `${program} is not on PATH (util-linux)`;
    }
  }
  return undefined;
}

/**
 * A `sleep` with a UTS namespace of its own named `hostname`, once the name is set:
 * `{ pid, stop() }`.
 */
export async function startNamespacedProcess(hostname) {
  const child = spawn(
    'unshare',
    ['--uts', '--', 'sh', '-c', `hostname ${hostname} && echo ready && exec sleep 100000`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const [chunk] = await once(child.stdout, 'data');
  if (chunk.toString() !== 'ready\n') {
    child.kill('SIGKILL');
    throw new Error(`unshare did not start: ${chunk}`);
  }
  return {
    pid: child.pid,
    async stop() {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
