import type { CommandOutput, StringCommand } from '@infra/core';

/**
 * A fact: one read-only command and how to read its output. Facts never change a
 * host; operations read them to decide what (if anything) to do.
 */
export interface FactDefinition<TArgs, TValue> {
  readonly name: string;
  readonly description: string;
  /** The argument names the fact takes, for `infra INVENTORY fact NAME k=v` and its errors. */
  readonly argNames: readonly string[];
  command(args: TArgs): StringCommand;
  parse(output: CommandOutput, args: TArgs): TValue;
}

export function defineFact<TArgs, TValue>(
  definition: FactDefinition<TArgs, TValue>,
): FactDefinition<TArgs, TValue> {
  return definition;
}
