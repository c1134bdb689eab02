import {
  assertConnectorClass,
  buildConnectorData,
  type ConnectorClass,
  collectNamesData,
  type InfraError,
  type NamesData,
  parseConnectionString,
} from '@infra/core';
import { describe, expect, it } from 'vitest';
import { createTestHost } from './test-host.js';

/** One argument of an inventory connector and what it must yield. */
export interface InventoryCase {
  /** The argument after `@NAME:` (undefined for a bare `@NAME`). */
  arg: string | undefined;
  /** The host names it must yield, in any order; omit to only check the shape. */
  names?: readonly string[];
  /** Groups every yielded host must be in. */
  groups?: readonly string[];
}

export interface InventoryConformanceOptions {
  /** Shown in the test names, e.g. `docker-containers (label filters on a test dockerd)`. */
  name: string;
  /** The name the connector is registered under in `infra.connectors` (`ssh-config`). */
  connectorName: string;
  /** The class as the package exports it (checked by shape, as the CLI does). */
  connectorClass: unknown;
  /** At least one argument that yields hosts. */
  cases: readonly InventoryCase[];
  /** Arguments that must be refused with an `InventoryError` whose message matches. */
  invalid?: readonly { arg: string | undefined; message: RegExp }[];
  /**
   * The executing connector classes by name (`{ ssh: SshConnector }`): when given,
   * every yielded host of the first case is resolved through its connector, which
   * connects and runs `echo` there, as `infra` would.
   */
  executingConnectors?: Readonly<Record<string, unknown>>;
  /** Skip the whole suite with this reason (what `peerMissing` returned). */
  skip?: string | undefined;
}

/**
 * What is wrong with what `@NAME:ARG` yielded, as sentences (empty when nothing
 * is): entries not shaped `[name, data, groups]`, names that are not connection
 * strings, a name twice, a name that leads back to `@NAME:ARG`, and the names
 * and groups the case expects.
 */
export function inventoryProblems(
  connectorName: string,
  testCase: InventoryCase,
  yielded: readonly unknown[],
): string[] {
  const shown = `@${connectorName}${testCase.arg === undefined ? '' : `:${testCase.arg}`}`;
  const problems: string[] = [];
  if (yielded.length === 0) problems.push(`${shown} yielded no host.`);
  const names: string[] = [];
  for (const entry of yielded) {
    const [name, data, groups] = Array.isArray(entry) ? entry : [];
    if (
      typeof name !== 'string' ||
      data === null ||
      typeof data !== 'object' ||
      Array.isArray(data) ||
      !Array.isArray(groups) ||
      !groups.every((group) => typeof group === 'string')
    ) {
      problems.push(
        `${shown} yielded ${JSON.stringify(entry)}: expected [name, data object, group strings].`,
      );
      continue;
    }
    names.push(name);
    let target: ReturnType<typeof parseConnectionString>;
    try {
      target = parseConnectionString(name);
    } catch (error) {
      problems.push(
        `${shown} yielded ${JSON.stringify(name)}, not a connection string: ${(error as Error).message}`,
      );
      continue;
    }
    if (target.connector === connectorName && target.arg === testCase.arg) {
      problems.push(`${shown} yielded ${JSON.stringify(name)}, which leads back to itself.`);
    }
    for (const group of testCase.groups ?? []) {
      if (!groups.includes(group)) problems.push(`${name} is not in group ${group}.`);
    }
  }
  const twice = names.filter((name, i) => names.indexOf(name) !== i);
  if (twice.length > 0) problems.push(`${shown} yielded ${[...new Set(twice)].join(', ')} twice.`);
  if (testCase.names) {
    const want = [...testCase.names].sort();
    const got = [...names].sort();
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      problems.push(
        `${shown} yielded ${got.join(', ') || 'nothing'}, expected ${want.join(', ')}.`,
      );
    }
  }
  return problems;
}

/**
 * The conformance suite for inventory connectors (`handlesExecution` false): the
 * class passes the CLI's shape check, every argument yields well-formed
 * `[name, data, groups]` whose names are connection strings, never itself, no
 * name twice; bad arguments throw `InventoryError`; and, given the executing
 * connectors, the yielded hosts really run a command.
 */
export function describeInventoryConnector(options: InventoryConformanceOptions): void {
  const { connectorName } = options;
  describe.skipIf(options.skip !== undefined)(`inventory conformance: ${options.name}`, () => {
    it('is an inventory-only connector class of this contract version', () => {
      assertConnectorClass(options.connectorClass, `The ${connectorName} connector`);
      expect(options.connectorClass).toHaveProperty('handlesExecution', false);
    });

    for (const testCase of options.cases) {
      const shown = `@${connectorName}${testCase.arg === undefined ? '' : `:${testCase.arg}`}`;
      it(`${shown} yields well-formed hosts, none twice, never itself`, async () => {
        const connectorClass = options.connectorClass as ConnectorClass;
        const yielded = await collectNamesData(connectorClass, testCase.arg);
        expect(inventoryProblems(connectorName, testCase, yielded)).toEqual([]);
      });
    }

    for (const bad of options.invalid ?? []) {
      it(`refuses ${JSON.stringify(bad.arg)} with an InventoryError that says what was expected`, async () => {
        const connectorClass = options.connectorClass as ConnectorClass;
        const error = await collectNamesData(connectorClass, bad.arg).then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error, `${JSON.stringify(bad.arg)} is refused`).toBeInstanceOf(Error);
        expect((error as InfraError).code).toBe('INVENTORY_INVALID');
        expect((error as Error).message).toMatch(bad.message);
      });
    }

    const executing = options.executingConnectors;
    const first = options.cases[0];
    it.skipIf(executing === undefined || first === undefined)(
      'every yielded host runs a command through its own connector',
      async () => {
        const connectorClass = options.connectorClass as ConnectorClass;
        for (const [name, data] of await collectNamesData(connectorClass, first?.arg)) {
          const target = parseConnectionString(name);
          const runner = executing?.[target.connector];
          expect(runner, `a connector named ${target.connector} for ${name}`).toBeDefined();
          assertConnectorClass(runner, `The ${target.connector} connector`);
          const [[hostName, hostData]] = (await collectNamesData(runner, target.arg)) as [
            NamesData,
          ];
          const merged = { ...hostData, ...data };
          const connector = new runner(
            createTestHost({
              name: hostName,
              hostData: merged,
              data: buildConnectorData(target.connector, runner.dataMeta, merged),
            }),
          );
          await connector.connect();
          try {
            const result = await connector.runShellCommand('echo inventory-ok');
            expect(result.success, `${name} ran the command`).toBe(true);
            expect(result.output.stdout).toBe('inventory-ok');
          } finally {
            await connector.disconnect();
          }
        }
      },
    );
  });
}
