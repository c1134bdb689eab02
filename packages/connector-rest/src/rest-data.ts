import { SUDO_PASSWORD_DATA_META } from '@infra/connector-utils';
import type { ConnectorData, DataMetaMap } from '@infra/core';

/** The host data keys of the rest connector. */
export const REST_DATA_META = {
  api_url: {
    description: 'Base URL of the REST API, e.g. https://web1.example.com:8765',
    type: 'string',
    required: true,
  },
  api_key: {
    description: 'API key, sent as "Authorization: Bearer <api_key>" (the agent\'s token)',
    type: 'string',
    secret: true,
  },
  api_timeout: {
    description:
      'Seconds to wait for an answer; also the timeout sent with a command that has none of its own',
    type: 'number',
    default: 60,
  },
  api_ca_file: {
    description:
      'PEM file of the certificate (or CA) to trust for an HTTPS agent, e.g. a self-signed one',
    type: 'string',
  },
  api_insecure_tls: {
    description: 'Do not check the HTTPS certificate at all (tests only)',
    type: 'boolean',
    default: false,
  },
  api_disable_extensions: {
    description:
      'Protocol extensions not to use even when the server advertises them (exec-stream, exec-stdin, exec-env, exec-status, files-raw)',
    type: 'string[]',
    default: [],
  },
  api_resource_id: {
    description: 'The resource ID (set from the connection string @rest:RESOURCE_ID)',
    type: 'string',
  },
  ...SUDO_PASSWORD_DATA_META,
} as const satisfies DataMetaMap;

export type RestConnectorData = ConnectorData<typeof REST_DATA_META>;
