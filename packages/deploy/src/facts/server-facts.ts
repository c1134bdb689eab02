import { sh } from '@infra/core';
import { defineFact } from './fact.js';

type NoArgs = Record<string, never>;

function firstLine(stdout: string): string {
  return stdout.split('\n')[0]?.trim() ?? '';
}

export const osFact = defineFact<NoArgs, string, 'server.os'>({
  name: 'server.os',
  description: 'The kernel name, as `uname -s` prints it (Linux, Darwin, ...).',
  argNames: [],
  command: () => sh`uname -s`,
  parse: (output) => firstLine(output.stdout),
});

export const archFact = defineFact<NoArgs, string, 'server.arch'>({
  name: 'server.arch',
  description: 'The machine architecture (`uname -m`): x86_64, aarch64, ...',
  argNames: [],
  command: () => sh`uname -m`,
  parse: (output) => firstLine(output.stdout),
});

export const hostnameFact = defineFact<NoArgs, string, 'server.hostname'>({
  name: 'server.hostname',
  description: 'The host name (`uname -n`).',
  argNames: [],
  command: () => sh`uname -n`,
  parse: (output) => firstLine(output.stdout),
});

export const kernelFact = defineFact<NoArgs, string, 'server.kernel'>({
  name: 'server.kernel',
  description: 'The kernel release (`uname -r`).',
  argNames: [],
  command: () => sh`uname -r`,
  parse: (output) => firstLine(output.stdout),
});

export interface UserInfo {
  readonly uid: number;
  readonly gid: number;
  /** The primary group's name, when /etc/group has it. */
  readonly group: string | undefined;
  /** Supplementary groups, from /etc/group. */
  readonly groups: string[];
  readonly home: string;
  readonly shell: string;
  readonly comment: string;
}

export interface GroupInfo {
  readonly gid: number;
  readonly members: string[];
}

const SEPARATOR = '--infra-group--';

function parseGroups(lines: readonly string[]): Map<string, GroupInfo> {
  const groups = new Map<string, GroupInfo>();
  for (const line of lines) {
    const [name, , gid, members] = line.split(':');
    if (!name || gid === undefined) continue;
    groups.set(name, {
      gid: Number(gid),
      members: members ? members.split(',').filter((m) => m !== '') : [],
    });
  }
  return groups;
}

export const usersFact = defineFact<NoArgs, Record<string, UserInfo>, 'server.users'>({
  name: 'server.users',
  description: 'Local users from /etc/passwd, with their groups from /etc/group.',
  argNames: [],
  command: () => sh`cat /etc/passwd && echo ${SEPARATOR} && cat /etc/group`,
  parse: (output) => {
    const lines = output.stdoutLines;
    const at = lines.indexOf(SEPARATOR);
    const groups = parseGroups(lines.slice(at + 1));
    const users: Record<string, UserInfo> = {};
    for (const line of lines.slice(0, at)) {
      const [name, , uid, gid, comment = '', home = '', shell = ''] = line.split(':');
      if (!name || uid === undefined || gid === undefined) continue;
      const primary = [...groups].find(([, group]) => group.gid === Number(gid))?.[0];
      users[name] = {
        uid: Number(uid),
        gid: Number(gid),
        group: primary,
        groups: [...groups].filter(([, g]) => g.members.includes(name)).map(([n]) => n),
        home,
        shell,
        comment,
      };
    }
    return users;
  },
});

export const groupsFact = defineFact<NoArgs, Record<string, GroupInfo>, 'server.groups'>({
  name: 'server.groups',
  description: 'Local groups from /etc/group: gid and members.',
  argNames: [],
  command: () => sh`cat /etc/group`,
  parse: (output) => Object.fromEntries(parseGroups(output.stdoutLines)),
});
