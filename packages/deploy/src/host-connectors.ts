import type { Connector, ConnectorLogger, SecretPrompt, SudoPasswordSource } from '@infra/core';
import type { InventoryHost } from './inventory.js';
import { RidingConnector, SharedVia } from './shared-via.js';
import type { ViaHost } from './via-hosts.js';

/** What every connector of a run is given besides its host. */
export interface ConnectorServices {
  /** Where the connector of the host (or via host) of this name logs. */
  readonly logFor: (hostName: string) => ConnectorLogger;
  /** The run's one sudo password source. */
  readonly sudoPassword: SudoPasswordSource;
  /** Asks the user a secret (a key passphrase) when the run has a terminal. */
  readonly prompt?: SecretPrompt | undefined;
}

/**
 * The connectors of a run's hosts, one per host, in order: the one place hosts
 * become connector instances (the CLI's exec, deploy, facts and ops, and library
 * users). A host that runs through another (`via=@ssh:web1`) gets that host's
 * connector as `ConnectorHost.via`: one instance per distinct via host (name and
 * data), shared by every host riding on it, connected before the first of them
 * connects and disconnected after the last (see `SharedVia`).
 */
export function createHostConnectors(
  hosts: readonly InventoryHost[],
  services: ConnectorServices,
): Connector[] {
  /** One connector instance for a host of the run or a via host, riding on `via` when given. */
  const construct = (
    entry: Pick<InventoryHost, 'name' | 'connector' | 'data' | 'hostData'>,
    via: SharedVia | undefined,
  ): Connector =>
    new entry.connector.connectorClass({
      name: entry.name,
      data: entry.data,
      hostData: entry.hostData,
      log: services.logFor(entry.name),
      sudoPassword: services.sudoPassword,
      ...(services.prompt ? { prompt: services.prompt } : {}),
      ...(via ? { via: via.connector, viaName: via.name } : {}),
    });
  const shared = new Map<string, SharedVia>();
  const sharedFor = (via: ViaHost): SharedVia => {
    const known = shared.get(via.identity);
    if (known) return known;
    const upstream = via.via ? sharedFor(via.via) : undefined;
    const made = new SharedVia(via.name, construct(via, upstream), upstream);
    shared.set(via.identity, made);
    return made;
  };
  return hosts.map((host) => {
    const via = host.runsVia ? sharedFor(host.runsVia) : undefined;
    const connector = construct(host, via);
    return via ? new RidingConnector(host.name, connector, via) : connector;
  });
}
