import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Why `tcpNoDelay` cannot work here, or undefined when it can. */
export function tcpNoDelayMissingReason(): string | undefined {
  if (process.platform !== 'linux') return 'reading a socket option of this process needs Linux';
  if (!existsSync('/usr/bin/perl')) return '/usr/bin/perl is not installed (Debian: perl-base)';
  return undefined;
}

/** Inodes of this process's established TCP sockets to 127.0.0.1:`port`, by fd. */
export function establishedSocketsTo(port: number): Map<number, string> {
  const inodes = new Set<string>();
  const remote = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local_address rem_address st ... inode (10th)
    if (fields[2] === remote && fields[3] === '01') inodes.add(fields[9]!);
  }
  const byFd = new Map<number, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && inodes.has(inode)) byFd.set(Number(fd), inode);
  }
  return byFd;
}

/**
 * The kernel's TCP_NODELAY for one of this process's sockets: a perl child takes a
 * copy of the fd with pidfd_getfd(2) (syscall numbers 434/438 are the same on
 * every Linux architecture but alpha) and asks getsockopt(2).
 */
export function tcpNoDelay(fd: number): number {
  const script = `
use strict; use Socket qw(IPPROTO_TCP TCP_NODELAY);
my ($pid, $fd) = map { $_ + 0 } @ARGV;
my $pidfd = syscall(434, $pid, 0); die "pidfd_open: $!" if $pidfd < 0;
my $copy = syscall(438, $pidfd, $fd, 0); die "pidfd_getfd: $!" if $copy < 0;
open(my $sock, '+<&=', $copy) or die "fdopen: $!";
my $value = getsockopt($sock, IPPROTO_TCP, TCP_NODELAY) or die "getsockopt: $!";
print unpack('i', $value);
`;
  return Number(
    execFileSync('perl', ['-e', script, String(process.pid), String(fd)], { encoding: 'utf8' }),
  );
}
