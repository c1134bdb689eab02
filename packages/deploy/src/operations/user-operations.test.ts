import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import { groupOperation, userOperation } from './user-operations.js';

const users = {
  app: {
    uid: 1500,
    gid: 1500,
    group: 'app',
    groups: ['web'],
    home: '/home/app',
    shell: '/bin/sh',
    comment: 'App',
  },
};
const groups = { app: { gid: 1500, members: [] }, web: { gid: 1600, members: ['app'] } };
const shadow = (args: unknown) =>
  (args as { command: string }).command === 'useradd' ? '/usr/sbin/useradd' : null;
const busybox = (args: unknown) =>
  (args as { command: string }).command === 'adduser' ? '/bin/adduser' : null;

describe('server.user', () => {
  it('creates a missing user with useradd, every value quoted', async () => {
    const { commands } = await planWith(
      userOperation,
      {
        user: 'new',
        uid: 1700,
        group: 'app',
        groups: ['web', 'docker'],
        home: '/srv/new home',
        shell: '/bin/bash',
        system: true,
      },
      { 'server.users': users, 'server.which': shadow },
    );
    expect(commands).toEqual([
      "useradd -u 1700 -g app -G web,docker -d '/srv/new home' -s /bin/bash -r -m new",
    ]);
  });

  it('creates one with busybox adduser and addgroup', async () => {
    const { commands } = await planWith(
      userOperation,
      { user: 'new', uid: '1700', groups: 'web', createHome: false, shell: '/bin/sh' },
      { 'server.users': users, 'server.which': busybox },
    );
    expect(commands).toEqual(['adduser -D -u 1700 -s /bin/sh -H new', 'addgroup new web']);
  });

  it('changes only what differs, with one usermod', async () => {
    const { commands } = await planWith(
      userOperation,
      { user: 'app', shell: '/bin/bash', groups: ['web', 'docker'], appendGroups: true },
      { 'server.users': users, 'server.which': shadow },
    );
    expect(commands).toEqual(['usermod -s /bin/bash -a -G docker app']);
    const exact = await planWith(
      userOperation,
      { user: 'app', groups: [] },
      { 'server.users': users, 'server.which': shadow },
    );
    expect(exact.commands).toEqual(["usermod -G '' app"]);
  });

  it('is in state without reading which tools the host has', async () => {
    const { commands, factsRead } = await planWith(
      userOperation,
      {
        user: 'app',
        uid: 1500,
        group: 'app',
        groups: ['web'],
        home: '/home/app',
        shell: '/bin/sh',
      },
      { 'server.users': users },
    );
    expect(commands).toEqual([]);
    expect(factsRead).toEqual(['server.users']);
  });

  it('removes a user (and its home) or has nothing to remove', async () => {
    const removed = await planWith(
      userOperation,
      { user: 'app', present: false, removeHome: true },
      { 'server.users': users, 'server.which': busybox },
    );
    expect(removed.commands).toEqual(['deluser --remove-home app']);
    const none = await planWith(
      userOperation,
      { user: 'ghost', present: false },
      { 'server.users': users },
    );
    expect(none.commands).toEqual([]);
  });

  it('says busybox cannot change an existing user', async () => {
    await expect(
      planWith(
        userOperation,
        { user: 'app', shell: '/bin/bash' },
        { 'server.users': users, 'server.which': busybox },
      ),
    ).rejects.toThrow(/user app differs \(-s\) and busybox has no usermod/);
  });
});

describe('server.group', () => {
  it('creates, changes the gid of, and removes groups', async () => {
    const add = await planWith(
      groupOperation,
      { group: 'ops', gid: 1800, system: true },
      { 'server.groups': groups, 'server.which': shadow },
    );
    expect(add.commands).toEqual(['groupadd -g 1800 -r ops']);
    const bb = await planWith(
      groupOperation,
      { group: 'ops' },
      { 'server.groups': groups, 'server.which': busybox },
    );
    expect(bb.commands).toEqual(['addgroup ops']);
    const mod = await planWith(
      groupOperation,
      { group: 'web', gid: 1601 },
      { 'server.groups': groups, 'server.which': shadow },
    );
    expect(mod.commands).toEqual(['groupmod -g 1601 web']);
    const del = await planWith(
      groupOperation,
      { group: 'web', present: false },
      { 'server.groups': groups, 'server.which': busybox },
    );
    expect(del.commands).toEqual(['delgroup web']);
    const same = await planWith(
      groupOperation,
      { group: 'web', gid: 1600 },
      { 'server.groups': groups },
    );
    expect(same.commands).toEqual([]);
  });

  it('names a host with neither tool', async () => {
    await expect(
      planWith(groupOperation, { group: 'ops' }, { 'server.groups': groups, 'server.which': null }),
    ).rejects.toThrow(/unit-host has neither useradd \(shadow\) nor adduser \(busybox\)/);
  });
});
