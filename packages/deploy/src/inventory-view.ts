/** One host as templates see every host of the run. */
export interface InventoryViewHost {
  readonly name: string;
  readonly groups: readonly string[];
  /** Its host data (deploy defaults < all < groups < host < `--data`). */
  readonly data: Readonly<Record<string, unknown>>;
}

/**
 * The whole inventory of a run, as pyinfra's templates see `inventory`: every host
 * with its groups and data, and each group's hosts (in inventory order). Templates
 * use it for configs that list peers: `it.inventory.groups.web.map((h) => h.data.ip)`.
 */
export interface InventoryView {
  readonly hosts: readonly InventoryViewHost[];
  readonly groups: Readonly<Record<string, readonly InventoryViewHost[]>>;
}

export function inventoryView(
  hosts: readonly {
    name: string;
    groups: readonly string[];
    hostData: Readonly<Record<string, unknown>>;
  }[],
  defaults: Readonly<Record<string, unknown>> = {},
): InventoryView {
  const all: InventoryViewHost[] = hosts.map((host) => ({
    name: host.name,
    groups: [...host.groups],
    data: { ...defaults, ...host.hostData },
  }));
  const groups: Record<string, InventoryViewHost[]> = {};
  for (const host of all) {
    for (const group of host.groups) {
      const members = groups[group] ?? [];
      members.push(host);
      groups[group] = members;
    }
  }
  return { hosts: all, groups };
}
