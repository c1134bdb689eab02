import type { FactDefinition } from '../src/facts/fact.js';
import type { OperationPlan, OperationSpec, PlanContext } from '../src/operation.js';

/**
 * Plan an operation against fact values given by name (a pure unit: no host).
 * A fact the operation reads that is not given fails the test, naming it.
 */
export async function planWith<TArgs>(
  spec: OperationSpec<TArgs>,
  args: TArgs,
  facts: Record<string, unknown | ((args: unknown) => unknown)>,
  options: { dry?: boolean } = {},
): Promise<{ plan: OperationPlan; commands: string[]; factsRead: string[] }> {
  const factsRead: string[] = [];
  const context: PlanContext = {
    host: 'unit-host',
    groups: [],
    hostData: {},
    dry: options.dry ?? false,
    wantDiff: false,
    async fact<A, V>(definition: FactDefinition<A, V>, factArgs: A): Promise<V> {
      factsRead.push(definition.name);
      if (!(definition.name in facts)) throw new Error(`unexpected fact ${definition.name}`);
      const value = facts[definition.name];
      return (typeof value === 'function' ? value(factArgs) : value) as V;
    },
    readFile: () => Promise.reject(new Error('no files in unit plans')),
  };
  const plan = await spec.plan(context, args);
  const commands = plan.steps.map((step) =>
    step.kind === 'command'
      ? String(step.command)
      : step.kind === 'function'
        ? step.description
        : `${step.kind} ${step.dest}`,
  );
  return { plan, commands, factsRead };
}
