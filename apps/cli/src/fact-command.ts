import {
  closestName,
  FACTS,
  type FactDefinition,
  HostSession,
  mapBounded,
  RunCoordinator,
  type RunHost,
  UnknownNameError,
} from '@infra/deploy';
import type { DeployOptions } from './args.js';
import { connectorArguments } from './exec-command.js';
import { EXIT, errorCode, errorMessage } from './exit-codes.js';
import type { Reporter } from './reporter.js';
import { UsageError } from './usage-error.js';

/** The fact named on the command line, or a usage error listing the facts. */
export function factNamed(name: string): FactDefinition<never, unknown> {
  const definition = FACTS[name];
  if (!definition) throw new UnknownNameError('fact', name, Object.keys(FACTS));
  return definition;
}

/**
 * A fact's `key=value` words checked against the arguments it takes: a missing,
 * unknown or empty one is a usage error naming it (and the nearest right name),
 * before any host is contacted. Values are kept as typed (`path=true` is the path "true").
 */
export function checkFactArguments(
  definition: FactDefinition<never, unknown>,
  args: Readonly<Record<string, string | boolean>>,
): Record<string, string> {
  const usage = `usage: infra INVENTORY fact ${definition.name}${definition.argNames.map((name) => ` ${name}=VALUE`).join('')}`;
  const checked: Record<string, string> = {};
  for (const [key, value] of Object.entries(args)) {
    if (!definition.argNames.includes(key)) {
      const near = closestName(key, definition.argNames, 2);
      const takes =
        definition.argNames.length === 0
          ? 'it takes no arguments'
          : `it takes ${definition.argNames.join(', ')}`;
      throw new UsageError(
        `fact ${definition.name}: unknown argument ${JSON.stringify(key)}${near ? ` (did you mean ${near}?)` : ''}; ${takes} (${usage}).`,
      );
    }
    const text = String(value);
    if (text === '') {
      throw new UsageError(`fact ${definition.name}: argument ${key} is empty (${usage}).`);
    }
    checked[key] = text;
  }
  const missing = definition.argNames.filter((name) => !(name in checked));
  if (missing.length > 0) {
    throw new UsageError(
      `fact ${definition.name} needs the argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (${usage}).`,
    );
  }
  return checked;
}

/**
 * `infra INVENTORY fact NAME k=v`: read one fact on every host, print the values
 * as JSON keyed by host (with --json, one event per host), in inventory order.
 */
export async function runFact(
  definition: FactDefinition<never, unknown>,
  args: Readonly<Record<string, string>>,
  hosts: readonly RunHost[],
  reporter: Reporter,
  options: DeployOptions,
  stop: { signal: AbortSignal; killSignal: AbortSignal },
): Promise<number> {
  const coordinator = new RunCoordinator();
  const values = new Map<string, unknown>();
  let failed = 0;
  await mapBounded(hosts, options.parallel, async (host) => {
    try {
      await host.connector.connect();
      const session = new HostSession(
        { name: host.name, groups: host.groups, data: host.hostData },
        host.connector,
        {
          dry: true,
          diff: false,
          phase: 'plan',
          ...stop,
          coordinator,
          emit: () => {},
        },
      );
      const value = await session.fact(definition, args as never, connectorArguments(options));
      values.set(host.name, value);
    } catch (error) {
      failed++;
      reporter.fatal({
        code: errorCode(error),
        message: `[${host.name}] ${errorMessage(error)}`,
        stack: (error as Error | undefined)?.stack,
      });
    } finally {
      await host.connector.disconnect().catch(() => {});
    }
  });
  const done = hosts.filter((host) => values.has(host.name));
  if (options.json) {
    for (const host of done) {
      const value = values.get(host.name);
      reporter.event({ type: 'fact', host: host.name, fact: definition.name, value } as never);
    }
  } else if (done.length > 0) {
    const ordered = Object.fromEntries(done.map((host) => [host.name, values.get(host.name)]));
    reporter.line(JSON.stringify(ordered, null, 2));
  }
  return failed > 0 ? EXIT.hostFailed : EXIT.ok;
}
