import { readFile } from 'node:fs/promises';
import { ConnectError, type ConnectorHost } from '@infra/core';
import { KNOWN_EXTENSIONS, readServerFeatures, type ServerFeatures } from './protocol.js';
import { RestClient } from './rest-client.js';
import type { RestConnectorData } from './rest-data.js';

/** What `connect()` opens: the client, the resource's JSON, and what the server can do. */
export interface RestSession {
  readonly client: RestClient;
  readonly resource: unknown;
  readonly resourcePath: string;
  readonly features: ServerFeatures;
}

/** The resource ID: `api_resource_id`, else the ARG of the host's name `@rest:ARG`. */
function resourceIdOf(host: ConnectorHost<RestConnectorData>): string {
  const fromData = host.data.api_resource_id;
  if (fromData) return fromData;
  const match = /^@rest[:/](.+)$/.exec(host.name);
  if (match) return match[1] as string;
  throw new ConnectError(
    host.name,
    'no resource ID: name the host @rest:RESOURCE_ID or set api_resource_id in its data.',
  );
}

/**
 * Check the host data (api_url, api_timeout, api_ca_file, api_disable_extensions),
 * then GET the resource: a `ConnectError` saying what to fix otherwise.
 */
export async function openRestSession(
  host: ConnectorHost<RestConnectorData>,
): Promise<RestSession> {
  const data = host.data;
  const resourceId = resourceIdOf(host);
  let apiUrl: URL;
  try {
    apiUrl = new URL(data.api_url);
  } catch {
    throw new ConnectError(
      host.name,
      `api_url ${JSON.stringify(data.api_url)} is not a URL: expected http(s)://HOST:PORT.`,
    );
  }
  if (apiUrl.protocol !== 'http:' && apiUrl.protocol !== 'https:') {
    throw new ConnectError(
      host.name,
      `api_url must start with http:// or https://, got ${apiUrl.protocol}//.`,
    );
  }
  if (apiUrl.username || apiUrl.password) {
    throw new ConnectError(host.name, 'api_url must not hold credentials: put the key in api_key.');
  }
  const known = Object.values(KNOWN_EXTENSIONS).map((extension) => extension.name as string);
  const unknown = data.api_disable_extensions.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new ConnectError(
      host.name,
      `api_disable_extensions names ${unknown.map((n) => JSON.stringify(n)).join(', ')}, expected some of ${known.join(', ')}.`,
    );
  }
  if (!(data.api_timeout > 0)) {
    throw new ConnectError(
      host.name,
      `api_timeout must be a positive number of seconds, got ${data.api_timeout}.`,
    );
  }
  let ca: Buffer | undefined;
  if (data.api_ca_file !== undefined) {
    try {
      ca = await readFile(data.api_ca_file);
    } catch (error) {
      throw new ConnectError(
        host.name,
        `cannot read api_ca_file ${data.api_ca_file} (${(error as NodeJS.ErrnoException).code ?? error}).`,
      );
    }
  }
  if (data.api_insecure_tls && apiUrl.protocol === 'https:') {
    host.log.warn(`${host.name}: api_insecure_tls is set: the agent's certificate is not checked.`);
  }
  const client = new RestClient({
    apiUrl,
    apiKey: data.api_key,
    timeoutSeconds: data.api_timeout,
    ...(ca ? { ca } : {}),
    insecureTls: data.api_insecure_tls,
  });
  const resourcePath = `/resources/${encodeURIComponent(resourceId)}`;
  let resource: unknown;
  try {
    resource = await client.json({
      method: 'GET',
      path: resourcePath,
      retry: true,
      subject: {
        notFound: `resource ${JSON.stringify(resourceId)}`,
        notFoundHint: `Check the ID in @rest:${resourceId} and api_url.`,
      },
    });
  } catch (error) {
    client.close();
    throw new ConnectError(host.name, (error as Error).message, { cause: error });
  }
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    client.close();
    throw new ConnectError(
      host.name,
      `GET ${client.urlOf(resourcePath)} answered ${JSON.stringify(resource)?.slice(0, 100)}, expected the resource's JSON object.`,
    );
  }
  host.hostData.rest_resource = resource;
  const features = readServerFeatures(resource, data.api_disable_extensions);
  host.log.debug(
    `${host.name}: connected to ${client.urlOf(resourcePath)}; extensions: ${[...features.extensions].map((key) => KNOWN_EXTENSIONS[key].name).join(', ') || 'none (base protocol)'}`,
  );
  return { client, resource, resourcePath, features };
}
