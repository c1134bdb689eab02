import { createTestHost } from '@infra/connector-testkit';
import { buildConnectorData, type ConnectorLogger } from '@infra/core';
import { RestConnector } from '../src/index.js';

/** A RestConnector for `@rest:ID` with this host data, checked as the CLI would check it. */
export function makeRestConnector(
  hostData: Record<string, unknown>,
  options: { name?: string; log?: ConnectorLogger } = {},
): RestConnector {
  const data = buildConnectorData('rest', RestConnector.dataMeta, hostData);
  return new RestConnector(
    createTestHost({
      name: options.name ?? `@rest:${String(hostData.api_resource_id ?? 'test-host')}`,
      data,
      hostData,
      ...(options.log ? { log: options.log } : {}),
    }),
  );
}

/** Connect one, so a failed connect fails the test that asked. */
export async function connectRest(
  hostData: Record<string, unknown>,
  options: { name?: string; log?: ConnectorLogger } = {},
): Promise<RestConnector> {
  const connector = makeRestConnector(hostData, options);
  await connector.connect();
  return connector;
}
