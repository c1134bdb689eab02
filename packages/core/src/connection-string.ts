import { InventoryError } from './errors.js';

export interface ConnectionString {
  /** The connector's name: `local`, `ssh`, `docker`, ... */
  readonly connector: string;
  /** What follows `@name:` or `@name/`; undefined for `@local`. */
  readonly arg: string | undefined;
}

const CONNECTOR_NAME = /^[a-z][a-z0-9_-]*$/;

/**
 * Parse an inventory entry: `@local`, `@ssh:host`, `@docker:alpine:3.20`,
 * `@name/arg`, or a bare host name, which means ssh. Splits on the first `:` or
 * `/` only, so image tags keep their colons.
 */
export function parseConnectionString(value: string): ConnectionString {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InventoryError(
      `Empty inventory entry: expected a connection string such as @local, @ssh:host or a host name.`,
    );
  }
  const text = value.trim();
  if (!text.startsWith('@')) {
    if (/\s/.test(text)) {
      throw new InventoryError(
        `Inventory entry ${JSON.stringify(value)} has white space: expected a host name or a connection string such as @ssh:host.`,
      );
    }
    return { connector: 'ssh', arg: text };
  }
  const body = text.slice(1);
  const split = body.search(/[:/]/);
  const name = split === -1 ? body : body.slice(0, split);
  const arg = split === -1 ? undefined : body.slice(split + 1);
  if (!CONNECTOR_NAME.test(name)) {
    throw new InventoryError(
      `Inventory entry ${JSON.stringify(value)}: ${JSON.stringify(name)} is not a connector name (expected @name or @name:arg, the name in lower case letters, digits, - and _).`,
    );
  }
  if (arg === '') {
    throw new InventoryError(
      `Inventory entry ${JSON.stringify(value)} has nothing after "@${name}${body[split]}": give an argument (@${name}:ARG) or none (@${name}).`,
    );
  }
  return { connector: name, arg };
}
