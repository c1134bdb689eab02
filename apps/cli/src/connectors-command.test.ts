import { describe, expect, it } from 'vitest';
import { dataKeyListing, formatConnectorListing } from './connectors-command.js';

describe('infra connectors listing', () => {
  it('masks a secret default and marks secrets', () => {
    expect(
      dataKeyListing('api_token', {
        description: 'token',
        type: 'string',
        secret: true,
        default: 'xyz',
      }),
    ).toEqual({
      key: 'api_token',
      type: 'string',
      description: 'token',
      default: '***',
      secret: true,
      required: false,
    });
  });

  it('prints the package, the role and one line per data key', () => {
    const lines = formatConnectorListing({
      name: 'ssh',
      package: '@infra/connector-ssh',
      version: '1.2.0',
      origin: 'project',
      handlesExecution: true,
      description: 'Hosts over SSH.',
      dataKeys: [
        dataKeyListing('ssh_port', {
          description: 'The port',
          type: 'integer',
          default: 22,
          minimum: 1,
          maximum: 65535,
        }),
        dataKeyListing('ssh_password', {
          description: 'The password',
          type: 'string',
          secret: true,
        }),
      ],
    });
    expect(lines).toEqual([
      'ssh  @infra/connector-ssh@1.2.0  (executes commands)',
      '  Hosts over SSH.',
      '  data keys:',
      '    ssh_port      integer  The port [default 22; 1..65535]',
      '    ssh_password  string   The password [secret]',
    ]);
  });

  it('says when a connector cannot be used', () => {
    const lines = formatConnectorListing({
      name: 'old',
      package: 'infra-connector-old',
      version: '0.1.0',
      origin: 'project',
      dataKeys: [],
      error: { code: 'CONNECTOR_SPEC_MISMATCH', message: 'wrong specification' },
    });
    expect(lines).toEqual([
      'old  infra-connector-old@0.1.0  (cannot be used)',
      '  error: wrong specification',
    ]);
  });
});
