import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** `pid`'s parent and command name, from /proc (undefined once it is gone). */
function statOf(pid: number): { ppid: number; comm: string; state: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
  const close = stat.lastIndexOf(')');
  const [state, ppid] = stat.slice(close + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, close), state: state!, ppid: Number(ppid) };
}

/** True while `pid` exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const stat = statOf(pid);
  return stat !== undefined && stat.state !== 'Z';
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** Whether a process has `target` (a path, or `socket:[inode]`) open. */
function hasOpen(pid: number, target: string): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === target;
    } catch {
      return false;
    }
  });
}

function processes(): number[] {
  return readdirSync('/proc')
    .map(Number)
    .filter((pid) => Number.isInteger(pid));
}

/**
 * The processes holding the server end of the loopback TCP connection from
 * `clientPort` to `serverPort`: the sshd processes serving one client connection
 * (`$SSH_CONNECTION` on the remote side names its client port).
 */
export function sshdServing(serverPort: number, clientPort: number): number[] {
  const local = `0100007F:${hexPort(serverPort)}`;
  const remote = `0100007F:${hexPort(clientPort)}`;
  const inodes = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1] === local && fields[2] === remote)
    .map((fields) => `socket:[${fields[9]}]`);
  return processes().filter((pid) => inodes.some((inode) => hasOpen(pid, inode)));
}

/** The children of `ppid` that have `path` open (an SFTP server writing a file). */
export function childrenWithOpen(ppid: number, path: string): number[] {
  return processes().filter((pid) => statOf(pid)?.ppid === ppid && hasOpen(pid, path));
}

/** Resolve once `check` gives a value other than undefined/false, looking every 20 ms. */
export async function waitFor<T>(what: string, check: () => T | undefined | false): Promise<T> {
  for (let tries = 0; ; tries++) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (tries > 2500) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
