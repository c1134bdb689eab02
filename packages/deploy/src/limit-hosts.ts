import { InventoryError } from '@infra/core';

function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * `--limit`: the hosts in a named group or whose name matches a glob (`web*`);
 * several limits are a union. A limit that matches nothing is an error.
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
