import { buildConnectorData, collectNamesData } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { NSENTER_DATA_META, NsenterConnector } from './nsenter-connector.js';

describe('NsenterConnector.makeNamesData', () => {
  it('makes one host from the process id in the connection string', async () => {
    expect(await collectNamesData(NsenterConnector, '4242')).toEqual([
      ['@nsenter:4242', { nsenter_pid: 4242 }, ['@nsenter']],
    ]);
  });

  it('refuses a missing or non-numeric id, saying what to write', () => {
    expect(() => NsenterConnector.makeNamesData(undefined)).toThrow(/e\.g\. @nsenter:4242/);
    expect(() => NsenterConnector.makeNamesData('web')).toThrow(/running process.*"web"/);
  });
});

describe('NSENTER_DATA_META', () => {
  it('requires nsenter_pid and accepts via, naming the key', () => {
    expect(() => buildConnectorData('nsenter', NSENTER_DATA_META, {})).toThrow(/nsenter_pid/);
    expect(
      buildConnectorData('nsenter', NSENTER_DATA_META, { nsenter_pid: 7, via: '@local' }),
    ).toMatchObject({ nsenter_pid: 7, via: '@local' });
  });
});
