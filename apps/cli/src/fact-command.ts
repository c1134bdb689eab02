import type { ConnectorArguments } from '@infra/core';
import {
  FACTS,
  HostSession,
  mapBounded,
  RunCoordinator,
  type RunHost,
  UnknownNameError,
} from '@infra/deploy';
import type { DeployOptions } from './args.js';
import type { DeployCliCommand } from './deploy-command.js';
import { EXIT, errorCode, errorMessage } from './exit-codes.js';
import type { Reporter } from './reporter.js';

/** `infra INVENTORY fact NAME k=v`: read one fact on every host, print them in inventory order. */
export async function runFact(
  command: Extract<DeployCliCommand, { kind: 'fact' }>,
  hosts: readonly RunHost[],
  reporter: Reporter,
  options: DeployOptions,
  run: { args: ConnectorArguments; signal: AbortSignal; killSignal: AbortSignal },
): Promise<number> {
  const { args, ...stop } = run;
  const definition = FACTS[command.fact];
  if (!definition) throw new UnknownNameError('fact', command.fact, Object.keys(FACTS));
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
      values.set(host.name, await session.fact(definition, command.args as never, args));
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
  // In inventory order, whichever host answered first.
  const done = hosts.filter((host) => values.has(host.name));
  if (options.json) {
    for (const host of done) {
      const value = values.get(host.name);
      reporter.event({ type: 'fact', host: host.name, fact: command.fact, value } as never);
    }
  } else if (done.length > 0) {
    const ordered = Object.fromEntries(done.map((host) => [host.name, values.get(host.name)]));
    reporter.line(JSON.stringify(ordered, null, 2));
  }
  return failed > 0 ? EXIT.hostFailed : EXIT.ok;
}
