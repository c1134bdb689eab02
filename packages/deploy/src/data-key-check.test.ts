import { ConnectorDataError, type DataMetaMap } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { findUnknownDataKeys, hostDataError, keyPrefixes, sourceOfKey } from './data-key-check.js';

const meta = {
  ssh_port: { description: 'port', type: 'integer' },
  ssh_user: { description: 'user', type: 'string' },
  sudo_password: { description: 'password', type: 'string', secret: true },
} as const satisfies DataMetaMap;

describe('connector data key checks', () => {
  it('takes the prefixes from the keys a connector declares', () => {
    expect([...keyPrefixes(meta)]).toEqual(['ssh_', 'sudo_']);
    expect(keyPrefixes({}).size).toBe(0);
  });

  it('finds a key with a connector prefix that is none of its keys, with the nearest one', () => {
    const layers = [
      { data: { ssh_prot: 1, app_port: 2 }, source: 'inv.yaml, all' },
      { data: { ssh_user: 'a', sudo_pasword: 'x' }, source: '--data' },
    ];
    expect(findUnknownDataKeys(layers, meta)).toEqual([
      {
        key: 'ssh_prot',
        source: 'inv.yaml, all',
        suggestion: 'ssh_port',
        sameFamily: ['ssh_port', 'ssh_user'],
      },
      {
        key: 'sudo_pasword',
        source: '--data',
        suggestion: 'sudo_password',
        sameFamily: ['sudo_password'],
      },
    ]);
    expect(findUnknownDataKeys(layers, {})).toEqual([]);
  });

  it('names the source that set a key last, and puts host and source in a data error', () => {
    const layers = [
      { data: { ssh_port: 'x' }, source: 'inv.yaml, all' },
      { data: { ssh_port: 'y' }, source: 'inv.yaml, group "web"' },
      { data: {}, source: '--data' },
    ];
    expect(sourceOfKey('ssh_port', layers)).toBe('inv.yaml, group "web"');
    expect(sourceOfKey('nope', layers)).toBeUndefined();
    const error = hostDataError(
      new ConnectorDataError('ssh_port', 'Host data ssh_port is string "y", expected an integer.'),
      'web1',
      'inv.yaml, group "web"',
    );
    expect(error.code).toBe('CONNECTOR_DATA_INVALID');
    expect(error.message).toBe(
      'Host "web1": data ssh_port is string "y", expected an integer. It is set in inv.yaml, group "web".',
    );
  });
});
