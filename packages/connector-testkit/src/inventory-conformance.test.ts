// The inventory suite run on two small connectors: one that follows the contract
// (its hosts run through a real `sh` child process), and one that loops.
import { execFile } from 'node:child_process';
import {
  BaseConnector,
  type CommandInput,
  type CommandResult,
  InventoryConnector,
  InventoryError,
  isSuccess,
  OutputCollector,
} from '@infra/core';
import { describe, expect, it } from 'vitest';
import { describeInventoryConnector, inventoryProblems } from './inventory-conformance.js';

/** Runs commands with `sh -c` on this machine: the executing side of the test. */
class ShellConnector extends BaseConnector {
  static override readonly handlesExecution = true;
  static override makeNamesData(arg: string | undefined) {
    return [[`@shell:${arg ?? 'one'}`, { shell_label: arg }, ['shell']] as const];
  }

  override runShellCommand(command: CommandInput): Promise<CommandResult> {
    return new Promise((resolve) => {
      execFile('sh', ['-c', String(command)], (error, stdout, stderr) => {
        const collector = new OutputCollector();
        collector.stdout.push(stdout);
        collector.stderr.push(stderr);
        const exitCode = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        const signal = error?.signal ?? null;
        resolve({
          success: isSuccess(exitCode, signal),
          output: collector.finish(exitCode, signal),
        });
      });
    });
  }

  override async putFile(): Promise<void> {
    throw new Error('not used by the inventory suite');
  }

  override async getFile(): Promise<void> {
    throw new Error('not used by the inventory suite');
  }
}

/** `@fleet:a+b` yields `@shell:a` and `@shell:b` in group `fleet`. */
class FleetInventory extends InventoryConnector {
  static override async *makeNamesData(arg: string | undefined) {
    if (!arg || !/^[a-z+]+$/.test(arg)) {
      throw new InventoryError(`@fleet needs names joined by +, such as @fleet:a+b (got ${arg}).`);
    }
    for (const name of arg.split('+')) yield [`@shell:${name}`, {}, ['fleet']] as const;
  }
}

describeInventoryConnector({
  name: 'fleet (hosts run through sh)',
  connectorName: 'fleet',
  connectorClass: FleetInventory,
  cases: [{ arg: 'a+b', names: ['@shell:a', '@shell:b'], groups: ['fleet'] }],
  invalid: [{ arg: undefined, message: /names joined by \+/ }],
  executingConnectors: { shell: ShellConnector },
});

describe('inventoryProblems', () => {
  it('finds nothing wrong with well-formed hosts', () => {
    const yielded = [
      ['@shell:a', {}, ['fleet']],
      ['web1', { ssh_port: 22 }, ['fleet', 'web']],
    ];
    expect(inventoryProblems('fleet', { arg: 'a', groups: ['fleet'] }, yielded)).toEqual([]);
  });

  it('names a loop, a name twice, a bad entry, a missing group and unexpected names', () => {
    const yielded = [
      ['@loop:x', {}, []],
      ['@ssh:a', {}, []],
      ['@ssh:a', {}, []],
      ['@ssh:b', 'not data', []],
      ['@', {}, []],
    ];
    const problems = inventoryProblems(
      'loop',
      { arg: 'x', names: ['@ssh:a'], groups: ['g'] },
      yielded,
    );
    expect(problems).toEqual([
      '@loop:x yielded "@loop:x", which leads back to itself.',
      '@loop:x is not in group g.',
      '@ssh:a is not in group g.',
      '@ssh:a is not in group g.',
      '@loop:x yielded ["@ssh:b","not data",[]]: expected [name, data object, group strings].',
      expect.stringMatching(/^@loop:x yielded "@", not a connection string: /),
      '@loop:x yielded @ssh:a twice.',
      '@loop:x yielded @, @loop:x, @ssh:a, @ssh:a, expected @ssh:a.',
    ]);
    expect(inventoryProblems('loop', { arg: 'x' }, [])).toEqual(['@loop:x yielded no host.']);
  });
});
