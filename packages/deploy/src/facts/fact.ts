import type { CommandOutput, StringCommand } from '@infra/core';

/**
 * A fact: one read-only command and how to read its output. Facts never change a
 * host; operations read them to decide what (if anything) to do.
 */
export interface FactDefinition<TArgs, TValue, TName extends string = string> {
  /** Dotted, as operations: `files.file`, `myapp.version`. */
  readonly name: TName;
  readonly description: string;
  /** The argument names the fact takes, for `infra INVENTORY fact NAME k=v` and its errors. */
  readonly argNames: readonly string[];
  command(args: TArgs): StringCommand;
  parse(output: CommandOutput, args: TArgs): TValue;
}

/**
 * Define a fact. A deploy reads any fact with `fact(definition, args)`; built-in
 * ones also appear under `facts` by their dotted name.
 */
export function defineFact<TArgs, TValue, const TName extends string = string>(
  definition: FactDefinition<TArgs, TValue, TName>,
): FactDefinition<TArgs, TValue, TName> {
  if (
    typeof definition?.name !== 'string' ||
    !/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+$/.test(definition.name)
  ) {
    throw new TypeError(
      `defineFact: name ${JSON.stringify(definition?.name)} is not a dotted name such as "files.file".`,
    );
  }
  if (
    !Array.isArray(definition.argNames) ||
    typeof definition.command !== 'function' ||
    typeof definition.parse !== 'function'
  ) {
    throw new TypeError(
      `defineFact ${definition.name}: expected argNames (an array of argument names), command and parse functions.`,
    );
  }
  return definition;
}

/** True for what `defineFact` returns (by shape: a package may bring its own copy of @infra/deploy). */
export function isFactDefinition(value: unknown): value is FactDefinition<never, unknown> {
  const fact = value as Partial<FactDefinition<never, unknown>> | null;
  return (
    typeof fact === 'object' &&
    fact !== null &&
    typeof fact.name === 'string' &&
    Array.isArray(fact.argNames) &&
    typeof fact.command === 'function' &&
    typeof fact.parse === 'function'
  );
}
