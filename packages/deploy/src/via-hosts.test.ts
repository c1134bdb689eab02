// The via resolution and the shared parent connection, as pure units: two tiny
// in-memory connector classes stand for a wrapping connector and its parent.
import {
  BaseConnector,
  type CommandResult,
  ConnectError,
  type ConnectorHost,
  InventoryError,
  MaskString,
  type NamesData,
  VIA_DATA_META,
} from '@infra/core';
import type { ConnectorResolver, LoadedConnector } from '@infra/core/resolver';
import { describe, expect, it } from 'vitest';
import { createHostConnectors } from './host-connectors.js';
import { type InventoryHost, planInventory, resolveHosts } from './inventory.js';

const events: string[] = [];

class ParentConnector extends BaseConnector {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = {
    parent_port: { description: 'port', type: 'number', default: 22 },
    parent_user: { description: 'user', type: 'string' },
    parent_password: { description: 'password', type: 'string', secret: true },
  } as const;
  static failConnect = false;
  static override makeNamesData(arg: string | undefined): NamesData[] {
    return [[`@parent:${arg}`, { parent_user: 'from-names' }, []]];
  }
  override async connect(): Promise<void> {
    events.push(`connect ${this.host.name}`);
    if (ParentConnector.failConnect) throw new ConnectError(this.host.name, 'refused');
  }
  override async disconnect(): Promise<void> {
    events.push(`disconnect ${this.host.name}`);
  }
  override runShellCommand(): Promise<CommandResult> {
    throw new Error('not used');
  }
  override putFile(): Promise<void> {
    throw new Error('not used');
  }
  override getFile(): Promise<void> {
    throw new Error('not used');
  }
}

class RiderConnector extends ParentConnector {
  static override readonly dataMeta = {
    rider_dir: { description: 'dir', type: 'string' },
    ...VIA_DATA_META,
  } as const;
  static override makeNamesData(arg: string | undefined): NamesData[] {
    return [[`@rider:${arg}`, { rider_dir: arg }, []]];
  }
  readonly via: ConnectorHost['via'];
  constructor(host: ConnectorHost) {
    super(host);
    this.via = host.via;
  }
}

const LOADED: Record<string, LoadedConnector> = {
  parent: {
    info: { name: 'parent' } as LoadedConnector['info'],
    connectorClass: ParentConnector,
  },
  rider: { info: { name: 'rider' } as LoadedConnector['info'], connectorClass: RiderConnector },
};
const resolver = {
  load: async (name: string) => {
    const found = LOADED[name];
    if (!found) throw new Error(`no connector ${name}`);
    return found;
  },
} as unknown as ConnectorResolver;

const secrets = { add: () => {} };

async function hostsOf(definition: unknown, data: Record<string, string> = {}) {
  const overrides = Object.fromEntries(
    Object.entries(data).map(([key, text]) => [
      key,
      { text, value: /^\d+$/.test(text) ? Number(text) : text },
    ]),
  );
  return resolveHosts(planInventory(definition, 'inv.ts'), overrides, resolver, secrets);
}

describe('resolveHosts with via', () => {
  it('resolves a connection string through its connector, with the rider`s keys for it typed', async () => {
    const [host] = await hostsOf(
      { hosts: ['@rider:/a'] },
      { via: '@parent:web1', parent_port: '2222' },
    );
    expect(host?.runsVia).toMatchObject({
      name: '@parent:web1',
      data: { parent_port: 2222, parent_user: 'from-names' },
    });
  });

  it('counts the via host`s keys as read, and masks its secrets in the rider`s data', async () => {
    const [host] = await hostsOf({
      hosts: [['@rider:/a', { via: '@parent:web1', parent_user: 'u', parent_password: 'pw' }]],
    });
    expect(host?.runsVia?.data).toMatchObject({ parent_user: 'u' });
    expect(host?.hostData.parent_password).toBeInstanceOf(MaskString);
    expect(host?.secretKeys).toContain('parent_password');
    await expect(
      hostsOf({ hosts: [['@rider:/a', { via: '@parent:web1', parent_prot: 1 }]] }),
    ).rejects.toThrow(/unknown data key parent_prot .*did you mean parent_port\?/);
  });

  it('takes an inventory host of the run by name, with its own data under the rider`s', async () => {
    const hosts = await hostsOf({
      hosts: [
        ['r1', { via: 'web1', rider_dir: '/r1' }],
        ['r2', { via: 'web1', rider_dir: '/r2' }],
        ['web1', { parent_user: 'own', parent_port: 2200 }],
      ].map(([name, data]) => ({
        name,
        connection: name === 'web1' ? '@parent:w' : '@rider:x',
        data,
      })),
    });
    const [r1, r2] = hosts;
    expect(r1?.runsVia).toMatchObject({
      name: 'web1',
      data: { parent_user: 'own', parent_port: 2200 },
    });
    // The same via host, with the same data: the same object, so one connection.
    expect(r2?.runsVia).toBe(r1?.runsVia);
  });

  it('follows a chain of via hosts, each with its own data', async () => {
    const [inner] = await hostsOf({
      hosts: [
        { name: 'inner', connection: '@rider:/inner', data: { via: 'outer' } },
        { name: 'outer', connection: '@rider:/outer', data: { via: '@parent:web1' } },
      ],
    });
    expect(inner?.runsVia?.name).toBe('outer');
    expect(inner?.runsVia?.data).toMatchObject({ rider_dir: '/outer' });
    expect(inner?.runsVia?.via).toMatchObject({ name: '@parent:web1', data: { parent_port: 22 } });
  });

  it('refuses a loop, naming the chain', async () => {
    const loop = hostsOf({
      hosts: [
        { name: 'a', connection: '@rider:/a', data: { via: 'b' } },
        { name: 'b', connection: '@rider:/b', data: { via: 'a' } },
      ],
    });
    await expect(loop).rejects.toThrow(InventoryError);
    await expect(loop).rejects.toThrow(/Host "a": its via hosts loop: "a" -> "b" -> "a"/);
    await expect(hostsOf({ hosts: ['@rider:/a'] }, { via: '@rider:/a' })).rejects.toThrow(
      /"@rider:\/a" -> "@rider:\/a"/,
    );
  });

  it('checks the via host`s data, naming the host, the key and the rider', async () => {
    await expect(
      hostsOf({ hosts: [['@rider:/a', { via: '@parent:web1', parent_port: 'x' }]] }),
    ).rejects.toThrow(/Host "@parent:web1": .*parent_port.*via host of "@rider:\/a"/);
  });
});

describe('createHostConnectors', () => {
  const services = {
    logFor: () => ({ debug() {}, info() {}, warn() {} }),
    sudoPassword: { get: async () => new MaskString('x') },
  };
  const twoRiders = async (): Promise<InventoryHost[]> =>
    hostsOf({ hosts: ['@rider:/a', '@rider:/b'] }, { via: '@parent:web1' });

  it('connects one shared parent before the first rider, and disconnects it after the last', async () => {
    events.length = 0;
    ParentConnector.failConnect = false;
    const [a, b] = createHostConnectors(await twoRiders(), services);
    await Promise.all([a?.connect(), b?.connect()]);
    await a?.disconnect();
    expect(events).toEqual([
      'connect @parent:web1',
      'connect @rider:/a',
      'connect @rider:/b',
      'disconnect @rider:/a',
    ]);
    await b?.disconnect();
    expect(events.slice(4)).toEqual(['disconnect @rider:/b', 'disconnect @parent:web1']);
    // A second disconnect (the CLI disconnects every host at the end) lets nothing go twice.
    await b?.disconnect();
    expect(events.filter((event) => event === 'disconnect @parent:web1')).toHaveLength(1);
  });

  it('connects a chain outermost first, and closes it innermost first', async () => {
    events.length = 0;
    ParentConnector.failConnect = false;
    const [inner, outer] = createHostConnectors(
      await hostsOf({
        hosts: [
          { name: 'inner', connection: '@rider:/inner', data: { via: 'outer' } },
          { name: 'outer', connection: '@rider:/outer', data: { via: '@parent:web1' } },
        ],
      }),
      services,
    );
    await inner?.connect();
    await inner?.disconnect();
    // `outer` is a host of the run too (its own instance), riding on the same @parent:web1:
    // that stays until it is done as well (the run disconnects every host at the end).
    expect(events).toEqual([
      'connect @parent:web1',
      'connect outer',
      'connect inner',
      'disconnect inner',
      'disconnect outer',
    ]);
    await outer?.disconnect();
    expect(events.slice(5)).toEqual(['disconnect outer', 'disconnect @parent:web1']);
  });

  it('fails every rider of a parent that cannot connect, naming the parent, and connects it once', async () => {
    events.length = 0;
    ParentConnector.failConnect = true;
    const [a, b] = createHostConnectors(await twoRiders(), services);
    for (const rider of [a, b]) {
      await expect(rider?.connect()).rejects.toThrow(
        /Could not connect to @rider:\/.: it runs via @parent:web1, which could not connect: Could not connect to @parent:web1: refused/,
      );
    }
    expect(events).toEqual(['connect @parent:web1']);
    ParentConnector.failConnect = false;
  });
});
