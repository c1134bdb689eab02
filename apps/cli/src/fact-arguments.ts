import { closestName, type FactDefinition } from '@infra/deploy';
import { UsageError } from './usage-error.js';

/**
 * A fact's `key=value` words checked against the arguments it takes: a missing,
 * unknown or empty one is a usage error naming it (and the nearest right name),
 * before any host is contacted. Values are kept as typed (`path=true` is the path "true").
 */
export function checkFactArguments(
  definition: FactDefinition<never, unknown>,
  args: Readonly<Record<string, string | boolean>>,
): Record<string, string> {
  const optional = new Set(definition.optionalArgs ?? []);
  const usage = `usage: infra INVENTORY fact ${definition.name}${definition.argNames.map((name) => (optional.has(name) ? ` [${name}=VALUE]` : ` ${name}=VALUE`)).join('')}`;
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
  const missing = definition.argNames.filter((name) => !(name in checked) && !optional.has(name));
  if (missing.length > 0) {
    throw new UsageError(
      `fact ${definition.name} needs the argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (${usage}).`,
    );
  }
  return checked;
}
