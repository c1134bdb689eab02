import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The user `su` switches to in the root: the testkit's default become user. */
export const BECOME_USER = 'infra-plain';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

/** A static busybox (a dynamic one would not run in a root without its libraries), or undefined. */
function staticBusybox(): string | undefined {
  return BUSYBOX_CANDIDATES.find((path) => {
    if (!existsSync(path)) return false;
    const ldd = spawnSync('ldd', [path], { encoding: 'utf8' });
    return (
      ldd.status !== 0 || /not a dynamic executable|statically linked/.test(ldd.stdout + ldd.stderr)
    );
  });
}

/** Why a busybox root cannot be used here, or undefined when it can. */
export function busyboxRootMissingReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'chroot needs root: run the tests as root, as CI does';
  if (!staticBusybox()) return 'no static busybox (apt-get install busybox-static)';
  if (spawnSync('chroot', ['--version'], { stdio: 'ignore' }).error) return 'chroot is not on PATH';
  return undefined;
}

export interface BusyboxRoot {
  readonly dir: string;
  remove(): Promise<void>;
}

/**
 * A throwaway root file system: a static busybox in /bin with every applet linked
 * to it, /etc/passwd and /etc/group, and a world-writable /tmp.
 */
export async function makeBusyboxRoot(): Promise<BusyboxRoot> {
  const busybox = staticBusybox();
  if (!busybox) throw new Error('no static busybox (apt-get install busybox-static)');
  const dir = await mkdtemp(join(tmpdir(), 'infra-chroot-'));
  // mkdtemp makes it 0700: the become user must be able to reach / inside it.
  chmodSync(dir, 0o755);
  for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'root', 'dev']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  mkdirSync(join(dir, 'tmp'), { mode: 0o1777 });
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(busybox, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(join(dir, 'bin/busybox'), ['--list-full'], { encoding: 'utf8' });
  for (const applet of applets.split('\n')) {
    // `bin/busybox` itself is listed too: linking it would overwrite the binary.
    if (applet === '' || applet === 'bin/busybox') continue;
    const target = join(dir, applet);
    if (!existsSync(target)) symlinkSync('/bin/busybox', target);
  }
  // Shells redirect background jobs' stdin from /dev/null: the root needs the devices.
  for (const [name, minor] of [
    ['null', '3'],
    ['zero', '5'],
    ['urandom', '9'],
  ] as const) {
    execFileSync('mknod', ['-m', '666', join(dir, 'dev', name), 'c', '1', minor]);
  }
  // root, and the user the conformance suite becomes with su (busybox's; root needs no password).
  writeFileSync(
    join(dir, 'etc/passwd'),
    `root:x:0:0:root:/root:/bin/sh\n${BECOME_USER}:x:1000:1000::/tmp:/bin/sh\n`,
  );
  writeFileSync(join(dir, 'etc/group'), `root:x:0:\n${BECOME_USER}:x:1000:\n`);
  writeFileSync(join(dir, 'etc/os-release'), 'NAME="infra busybox chroot"\n');
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
