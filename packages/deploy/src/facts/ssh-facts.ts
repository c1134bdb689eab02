import { sh } from '@infra/core';
import { defineFact } from './fact.js';

export interface KnownHostArgs {
  readonly hostname: string;
  /** Default 22. */
  readonly port?: number | string;
}

/** How known_hosts names a host: `host`, or `[host]:port` off port 22. */
export function knownHostName(hostname: string, port: number | string = 22): string {
  return Number(port) === 22 ? hostname : `[${hostname}]:${port}`;
}

/** Whether the connecting user's ~/.ssh/known_hosts has a key for a host (`ssh-keygen -F`). */
export const knownHostFact = defineFact<KnownHostArgs, boolean, 'ssh.knownHost'>({
  name: 'ssh.knownHost',
  description:
    "Whether the user's ~/.ssh/known_hosts holds a key for `hostname` (and `port`), as ssh-keygen -F finds it.",
  argNames: ['hostname', 'port'],
  command: ({ hostname, port }) =>
    sh`f="$HOME/.ssh/known_hosts"; if [ -f "$f" ] && ssh-keygen -F ${knownHostName(hostname, port)} -f "$f" >/dev/null 2>&1; then echo yes; else echo no; fi`,
  parse: (output) => output.stdout.trim() === 'yes',
});
