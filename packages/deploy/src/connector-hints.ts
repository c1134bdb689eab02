import { ConnectorNotFoundError } from '@infra/core';
import type { ConnectorResolver } from '@infra/core/resolver';
import { closestName } from './closest-name.js';

async function installedNames(resolver: ConnectorResolver): Promise<string[]> {
  return (await resolver.list()).map((connector) => connector.name);
}

/**
 * A "no connector named sssh" error with the nearest installed name added
 * ("did you mean @ssh?"); any other error as it was.
 */
export async function withConnectorSuggestion(
  error: unknown,
  name: string,
  resolver: ConnectorResolver,
): Promise<unknown> {
  if ((error as { code?: unknown } | null)?.code !== 'CONNECTOR_NOT_FOUND') return error;
  const nearest = closestName(name, await installedNames(resolver), 2);
  if (nearest === undefined) return error;
  const message = (error as Error).message.replace(/^([^.]*\.)/, `$1 Did you mean @${nearest}?`);
  return new ConnectorNotFoundError(name, message);
}

/**
 * A bare inventory entry is an ssh host name; when it is (or is one edit away
 * from) an installed connector's name (`local`, `lcoal`), say so before it is
 * tried as a host: the user most likely meant `@local`.
 */
export async function bareNameHint(
  entry: string,
  resolver: ConnectorResolver,
): Promise<string | undefined> {
  if (entry.startsWith('@') || /[.:/@]/.test(entry)) return undefined;
  const names = await installedNames(resolver);
  const meant = names.includes(entry) ? entry : closestName(entry, names, 1);
  if (meant === undefined || meant === 'ssh') return undefined;
  return `Inventory entry ${JSON.stringify(entry)} has no @, so it is taken as an ssh host name; did you mean the ${meant} connector, @${meant}?`;
}
