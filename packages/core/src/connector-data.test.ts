import { describe, expect, it } from 'vitest';
import { MaskString } from './command.js';
import { buildConnectorData, type DataMetaMap, maskHostData } from './connector-data.js';
import { ConnectorDataError } from './errors.js';

const meta = {
  ssh_port: { description: 'port', type: 'integer', default: 22 },
  ssh_user: { description: 'login user', type: 'string' },
  ssh_password: { description: 'password', type: 'string', secret: true },
  ssh_strict: {
    description: 'host key policy',
    type: 'string',
    values: ['yes', 'no'],
    default: 'yes',
  },
  ssh_keys: { description: 'keys', type: 'string[]', default: [] },
} as const satisfies DataMetaMap;

describe('buildConnectorData', () => {
  it('applies defaults, keeps given values and masks secrets', () => {
    const data = buildConnectorData('ssh', meta, { ssh_user: 'bob', ssh_password: 'pw', other: 1 });
    expect(data.ssh_port).toBe(22);
    expect(data.ssh_user).toBe('bob');
    expect(data.ssh_password).toBeInstanceOf(MaskString);
    expect(data.ssh_password?.getRawValue()).toBe('pw');
    expect(JSON.stringify(data)).not.toContain('"pw"');
    expect(data.ssh_strict).toBe('yes');
    expect('other' in data).toBe(false);
  });

  it('names the key, the value type and the expected type', () => {
    expect(() => buildConnectorData('ssh', meta, { ssh_port: '22' })).toThrow(ConnectorDataError);
    expect(() => buildConnectorData('ssh', meta, { ssh_port: '22' })).toThrow(
      'Host data ssh_port is string "22", expected an integer (port).',
    );
    expect(() => buildConnectorData('ssh', meta, { ssh_port: 2.5 })).toThrow(
      /number \(not an integer\)/,
    );
    expect(() => buildConnectorData('ssh', meta, { ssh_keys: ['a', 1] })).toThrow(
      /expected a list of strings/,
    );
    expect(() => buildConnectorData('ssh', meta, { ssh_strict: 'maybe' })).toThrow(
      /expected one of "yes", "no"/,
    );
  });

  it('refuses a number outside the range of the key, naming the range', () => {
    const ranged = {
      ssh_port: { description: 'port', type: 'integer', minimum: 1, maximum: 65535 },
    } as const satisfies DataMetaMap;
    expect(buildConnectorData('ssh', ranged, { ssh_port: 65535 }).ssh_port).toBe(65535);
    expect(() => buildConnectorData('ssh', ranged, { ssh_port: -5 })).toThrow(
      'Host data ssh_port is -5, expected from 1 to 65535 (port).',
    );
    expect(() => buildConnectorData('ssh', ranged, { ssh_port: 70000 })).toThrow(
      ConnectorDataError,
    );
  });

  it('never shows a secret value in the error', () => {
    try {
      buildConnectorData('ssh', meta, { ssh_password: 12345678 });
      expect.fail('should throw');
    } catch (error) {
      expect((error as Error).message).not.toContain('12345678');
      expect((error as ConnectorDataError).key).toBe('ssh_password');
    }
  });

  it('requires required keys', () => {
    const required = {
      api_url: { description: 'the URL', type: 'string', required: true },
    } as const;
    expect(() => buildConnectorData('rest', required, {})).toThrow(/needs host data api_url/);
  });
});

describe('maskHostData', () => {
  it('masks secret keys and MaskString values', () => {
    expect(
      maskHostData({ a: 1, ssh_password: 'x', t: new MaskString('y') }, ['ssh_password']),
    ).toEqual({
      a: 1,
      ssh_password: '***',
      t: '***',
    });
  });
});
