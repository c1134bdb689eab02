import { globToRegExp } from '@infra/connector-utils';
import { InventoryError } from '@infra/core';

/**
 * `--limit`: the hosts in a named group or whose name matches a glob (`web*`,
 * `web[12]`, `db?`: pyinfra's fnmatch rules, case-sensitive, `*` crossing any
 * character since host names have no folders), by the shared matcher of
 * `@infra/connector-utils`; several limits are a union. A limit that matches nothing
 * is an error.
 */
export function limitHosts<T extends { name: string; groups: readonly string[] }>(
  hosts: readonly T[],
  limits: readonly string[],
): T[] {
  if (limits.length === 0) return [...hosts];
  const keep = new Set<T>();
  for (const limit of limits) {
    const pattern = globToRegExp(limit);
    const matched = hosts.filter((host) => host.groups.includes(limit) || pattern.test(host.name));
    if (matched.length === 0) {
      throw new InventoryError(
        `--limit ${JSON.stringify(limit)} matches no group and no host name: the groups are ${[...new Set(hosts.flatMap((h) => h.groups))].join(', ') || '(none)'}, the hosts ${hosts.map((h) => h.name).join(', ')}.`,
      );
    }
    for (const host of matched) keep.add(host);
  }
  return hosts.filter((host) => keep.has(host));
}
