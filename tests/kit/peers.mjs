// Real peers for the kit tests: a busybox root to chroot into, and the reason a
// peer is missing (a loud skip locally, a failure under CI=true, as in the testkit).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

function staticBusybox() {
  return ['/bin/busybox', '/usr/bin/busybox'].find((path) => {
    if (!existsSync(path)) return false;
    const ldd = spawnSync('ldd', [path], { encoding: 'utf8' });
    return (
      ldd.status !== 0 || /not a dynamic executable|statically linked/.test(ldd.stdout + ldd.stderr)
    );
  });
}

export function busyboxRootMissingReason() {
  if (process.getuid?.() !== 0) return 'chroot needs root: run the tests as root, as CI does';
  if (!staticBusybox()) return 'no static busybox (apt-get install busybox-static)';
  return undefined;
}

/** A root file system in `dir`: busybox with its applets installed, /dev/null, /tmp, a marker file. */
export function makeBusyboxRoot(dir) {
  for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'dev']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  mkdirSync(join(dir, 'tmp'));
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(staticBusybox(), join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s']);
  execFileSync('mknod', ['-m', '666', join(dir, 'dev/null'), 'c', '1', '3']);
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc/os-release'), 'NAME="infra busybox chroot"\n');
  return dir;
}
