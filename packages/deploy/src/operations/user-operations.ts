import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { type GroupInfo, groupsFact, type UserInfo, usersFact } from '../facts/server-facts.js';
import { whichFact } from '../facts/systemd-facts.js';
import { defineOperation, type PlanContext } from '../operation.js';
import { commandSteps, flag, integerOf, listOf, required } from './attributes.js';

/**
 * Which tools manage users on the host: shadow's `useradd`/`usermod`/`groupadd`
 * (Debian, RHEL, ...), or busybox's `adduser`/`addgroup` (Alpine, busybox images),
 * which cannot change an existing user.
 */
export type UserTools = 'shadow' | 'busybox';

async function userTools(context: PlanContext, operation: string): Promise<UserTools> {
  if (await context.fact(whichFact, { command: 'useradd' })) return 'shadow';
  if (await context.fact(whichFact, { command: 'adduser' })) return 'busybox';
  throw new OperationArgumentError(
    operation,
    `${context.host} has neither useradd (shadow) nor adduser (busybox): install one of them.`,
  );
}

export interface GroupArgs {
  group: string;
  present?: boolean | string;
  gid?: number | string;
  /** A system group (`groupadd -r`, busybox `addgroup -S`). */
  system?: boolean | string;
}

/** The commands that bring `group` to what is wanted, given what exists. */
export function groupCommands(
  tools: UserTools,
  name: string,
  existing: GroupInfo | undefined,
  wanted: { present: boolean; gid: number | undefined; system: boolean },
): StringCommand[] {
  if (!wanted.present) {
    if (!existing) return [];
    return [tools === 'shadow' ? sh`groupdel ${name}` : sh`delgroup ${name}`];
  }
  if (!existing) {
    const gid = wanted.gid === undefined ? [] : ['-g', String(wanted.gid)];
    if (tools === 'shadow')
      return [sh`groupadd ${[...gid, ...(wanted.system ? ['-r'] : []), name]}`];
    return [sh`addgroup ${[...gid, ...(wanted.system ? ['-S'] : []), name]}`];
  }
  if (wanted.gid !== undefined && existing.gid !== wanted.gid) {
    if (tools === 'busybox') {
      throw new OperationArgumentError(
        'server.group',
        `group ${name} has gid ${existing.gid}, not ${wanted.gid}, and busybox has no groupmod: change it by hand or remove the group first.`,
      );
    }
    return [sh`groupmod -g ${String(wanted.gid)} ${name}`];
  }
  return [];
}

export const groupOperation = defineOperation<GroupArgs, 'server.group'>({
  name: 'server.group',
  argNames: ['group', 'present', 'gid', 'system'],
  description: 'Make a local group exist (with a gid) or not: groupadd/groupmod/groupdel.',
  label: (args) => `server.group ${args.group}`,
  plan: async (context, args) => {
    const name = required('server.group', 'group', args.group);
    const groups = await context.fact(groupsFact, {});
    const wanted = {
      present: flag(args.present, true),
      gid: integerOf('server.group', 'gid', args.gid),
      system: flag(args.system, false),
    };
    const existing = groups[name];
    if (!wanted.present && !existing) return { steps: [] };
    if (wanted.present && existing && (wanted.gid === undefined || existing.gid === wanted.gid)) {
      return { steps: [] };
    }
    const tools = await userTools(context, 'server.group');
    return { steps: commandSteps(groupCommands(tools, name, existing, wanted)) };
  },
});

export interface UserArgs {
  user: string;
  present?: boolean | string;
  uid?: number | string;
  /** The primary group (must exist; without it a group named after the user is made). */
  group?: string;
  /** Supplementary groups (must exist). */
  groups?: string | readonly string[];
  /** With `groups`: only add to them (true), or also leave every other supplementary group (false, default). */
  appendGroups?: boolean | string;
  home?: string;
  shell?: string;
  comment?: string;
  /** A system user (`useradd -r`, busybox `adduser -S`). */
  system?: boolean | string;
  /** Create the home directory for a new user (default true). */
  createHome?: boolean | string;
  /** With `present: false`: remove the home directory too. */
  removeHome?: boolean | string;
}

interface WantedUser {
  present: boolean;
  uid: number | undefined;
  group: string | undefined;
  groups: string[] | undefined;
  appendGroups: boolean;
  home: string | undefined;
  shell: string | undefined;
  comment: string | undefined;
  system: boolean;
  createHome: boolean;
  removeHome: boolean;
}

/** The commands that bring `user` to what is wanted, given what exists. */
export function userCommands(
  tools: UserTools,
  name: string,
  existing: UserInfo | undefined,
  wanted: WantedUser,
): StringCommand[] {
  if (!wanted.present) {
    if (!existing) return [];
    if (tools === 'shadow') return [sh`userdel ${[...(wanted.removeHome ? ['-r'] : []), name]}`];
    return [sh`deluser ${[...(wanted.removeHome ? ['--remove-home'] : []), name]}`];
  }
  const option = (flagName: string, value: string | number | undefined): string[] =>
    value === undefined ? [] : [flagName, String(value)];
  if (!existing) {
    if (tools === 'shadow') {
      return [
        sh`useradd ${[
          ...option('-u', wanted.uid),
          ...option('-g', wanted.group),
          ...(wanted.groups && wanted.groups.length > 0 ? ['-G', wanted.groups.join(',')] : []),
          ...option('-d', wanted.home),
          ...option('-s', wanted.shell),
          ...option('-c', wanted.comment),
          ...(wanted.system ? ['-r'] : []),
          wanted.createHome ? '-m' : '-M',
          name,
        ]}`,
      ];
    }
    // busybox: -G is the primary group; supplementary groups are added one by one.
    return [
      sh`adduser ${[
        '-D',
        ...option('-u', wanted.uid),
        ...option('-G', wanted.group),
        ...option('-h', wanted.home),
        ...option('-s', wanted.shell),
        ...option('-g', wanted.comment),
        ...(wanted.system ? ['-S'] : []),
        ...(wanted.createHome ? [] : ['-H']),
        name,
      ]}`,
      ...(wanted.groups ?? []).map((group) => sh`addgroup ${name} ${group}`),
    ];
  }
  const changes: string[] = [];
  if (wanted.uid !== undefined && existing.uid !== wanted.uid)
    changes.push('-u', String(wanted.uid));
  if (wanted.group !== undefined && existing.group !== wanted.group)
    changes.push('-g', wanted.group);
  if (wanted.home !== undefined && existing.home !== wanted.home) changes.push('-d', wanted.home);
  if (wanted.shell !== undefined && existing.shell !== wanted.shell)
    changes.push('-s', wanted.shell);
  if (wanted.comment !== undefined && existing.comment !== wanted.comment)
    changes.push('-c', wanted.comment);
  const missingGroups = (wanted.groups ?? []).filter((g) => !existing.groups.includes(g));
  const extraGroups =
    wanted.groups === undefined || wanted.appendGroups
      ? []
      : existing.groups.filter((g) => !wanted.groups?.includes(g));
  if (tools === 'busybox') {
    if (changes.length > 0) {
      throw new OperationArgumentError(
        'server.user',
        `user ${name} differs (${changes.filter((_, i) => i % 2 === 0).join(' ')}) and busybox has no usermod: change it by hand, or remove the user first.`,
      );
    }
    return [
      ...missingGroups.map((group) => sh`addgroup ${name} ${group}`),
      ...extraGroups.map((group) => sh`delgroup ${name} ${group}`),
    ];
  }
  if (missingGroups.length > 0 || extraGroups.length > 0) {
    if (wanted.appendGroups) changes.push('-a', '-G', missingGroups.join(','));
    else changes.push('-G', (wanted.groups ?? []).join(','));
  }
  return changes.length === 0 ? [] : [sh`usermod ${changes} ${name}`];
}

export const userOperation = defineOperation<UserArgs, 'server.user'>({
  name: 'server.user',
  argNames: [
    'user',
    'present',
    'uid',
    'group',
    'groups',
    'appendGroups',
    'home',
    'shell',
    'comment',
    'system',
    'createHome',
    'removeHome',
  ],
  description:
    'Make a local user exist (uid, group, groups, home, shell, system) or not: useradd/usermod/userdel, or busybox adduser.',
  label: (args) => `server.user ${args.user}`,
  plan: async (context, args) => {
    const name = required('server.user', 'user', args.user);
    const users = await context.fact(usersFact, {});
    const groups = listOf(args.groups);
    const wanted: WantedUser = {
      present: flag(args.present, true),
      uid: integerOf('server.user', 'uid', args.uid),
      group: args.group || undefined,
      groups: args.groups === undefined ? undefined : groups,
      appendGroups: flag(args.appendGroups, false),
      home: args.home || undefined,
      shell: args.shell || undefined,
      comment: args.comment,
      system: flag(args.system, false),
      createHome: flag(args.createHome, true),
      removeHome: flag(args.removeHome, false),
    };
    const existing = users[name];
    if (!wanted.present && !existing) return { steps: [] };
    // Decide with the shadow rules first: no tool lookup when nothing differs.
    if (existing && wanted.present && userCommands('shadow', name, existing, wanted).length === 0) {
      return { steps: [] };
    }
    const tools = await userTools(context, 'server.user');
    return { steps: commandSteps(userCommands(tools, name, existing, wanted)) };
  },
});
