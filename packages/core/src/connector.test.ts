import { describe, expect, it } from 'vitest';
import {
  assertConnectorClass,
  BaseConnector,
  collectNamesData,
  InventoryConnector,
  type NamesData,
  VIA_DATA_META,
  viaTargetOf,
} from './connector.js';
import { ConnectorSpecError } from './errors.js';
import { CommandOutput } from './output.js';
import { noSudoPassword } from './sudo-password.js';

class EchoConnector extends BaseConnector {
  static override handlesExecution = true;
  static override makeNamesData(arg: string | undefined): NamesData[] {
    return [[`@echo:${arg}`, { echo: arg }, ['@echo']]];
  }
  async runShellCommand() {
    return { success: true, output: new CommandOutput([], 0) };
  }
  async putFile() {}
  async getFile() {}
}

describe('the connector contract', () => {
  it('accepts a BaseConnector subclass by shape', () => {
    expect(() => assertConnectorClass(EchoConnector, 'echo')).not.toThrow();
  });

  it('accepts a structurally equal class that does not extend this copy of BaseConnector', () => {
    class Foreign {
      static specificationVersion = 'v1';
      static handlesExecution = false;
      static dataMeta = {};
      static makeNamesData() {
        return [];
      }
    }
    expect(() => assertConnectorClass(Foreign, 'foreign')).not.toThrow();
  });

  it('says what is missing', () => {
    class NoExec {
      static specificationVersion = 'v1';
      static handlesExecution = true;
      static dataMeta = {};
      static makeNamesData() {
        return [];
      }
      connect() {}
    }
    expect(() => assertConnectorClass(NoExec, 'x')).toThrow(ConnectorSpecError);
    expect(() => assertConnectorClass(NoExec, 'x')).toThrow(
      /lacks disconnect, runShellCommand, putFile, getFile/,
    );
    expect(() => assertConnectorClass({}, 'x')).toThrow(/does not export a connector class/);
  });

  it('collects names data from lists, generators, async generators and promises', async () => {
    expect(await collectNamesData(EchoConnector, 'a')).toEqual([
      ['@echo:a', { echo: 'a' }, ['@echo']],
    ]);
    const fromGenerator = {
      *makeNamesData() {
        yield ['g', {}, []] as const;
      },
    };
    const fromAsync = {
      async *makeNamesData() {
        yield ['h', {}, []] as const;
      },
    };
    const fromPromise = { makeNamesData: async () => [['p', {}, []] as const] };
    expect(await collectNamesData(fromGenerator, undefined)).toEqual([['g', {}, []]]);
    expect(await collectNamesData(fromAsync, undefined)).toEqual([['h', {}, []]]);
    expect(await collectNamesData(fromPromise, undefined)).toEqual([['p', {}, []]]);
  });

  it('the base makeNamesData says it is not implemented', () => {
    expect(() => BaseConnector.makeNamesData('x')).toThrow(
      /does not implement static makeNamesData/,
    );
  });
});

describe('InventoryConnector', () => {
  class Fleet extends InventoryConnector {
    static override makeNamesData(arg: string | undefined) {
      return (arg ?? '').split('+').map((name) => [`@ssh:${name}`, {}, ['fleet']] as const);
    }
  }

  it('is an inventory-only connector class that yields hosts', async () => {
    expect(() => assertConnectorClass(Fleet, 'Fleet')).not.toThrow();
    expect(Fleet.handlesExecution).toBe(false);
    expect(await collectNamesData(Fleet, 'a+b')).toEqual([
      ['@ssh:a', {}, ['fleet']],
      ['@ssh:b', {}, ['fleet']],
    ]);
  });

  it('refuses to run commands or move files, naming the class and the host', async () => {
    const fleet = new Fleet({
      name: '@fleet:a',
      data: {},
      hostData: {},
      log: { debug() {}, info() {}, warn() {} },
      sudoPassword: noSudoPassword,
    });
    for (const call of [
      () => fleet.runShellCommand('true'),
      () => fleet.putFile(Buffer.from(''), '/tmp/x'),
      () => fleet.getFile('/tmp/x', '/tmp/y'),
    ]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConnectorSpecError);
      expect((error as Error).message).toMatch(
        /^Fleet\.(runShellCommand|putFile|getFile)\(\) was called for @fleet:a, but it only generates inventory/,
      );
    }
  });
});

describe('viaTargetOf', () => {
  it('reads the via data key of a connector that declares it', () => {
    expect(viaTargetOf({ dataMeta: VIA_DATA_META }, { via: '@ssh:web1' })).toEqual({
      connection: '@ssh:web1',
    });
    expect(viaTargetOf({ dataMeta: VIA_DATA_META }, {})).toBeUndefined();
  });

  it('ignores via for a connector that does not declare it', () => {
    expect(viaTargetOf({ dataMeta: {} }, { via: '@ssh:web1' })).toBeUndefined();
  });

  it("asks the class's viaOf when it has one", () => {
    const viaOf = (data: Readonly<Record<string, unknown>>) =>
      typeof data.docker_host === 'string' && data.docker_host.startsWith('ssh://')
        ? { connection: '@ssh:web1', data: { ssh_port: 2222 } }
        : undefined;
    expect(viaTargetOf({ dataMeta: {}, viaOf }, { docker_host: 'ssh://web1:2222' })).toEqual({
      connection: '@ssh:web1',
      data: { ssh_port: 2222 },
    });
    expect(viaTargetOf({ dataMeta: VIA_DATA_META, viaOf }, { via: '@local' })).toBeUndefined();
  });
});
