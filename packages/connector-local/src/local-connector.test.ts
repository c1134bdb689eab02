import {
  assertConnectorClass,
  collectNamesData,
  InventoryError,
  SPECIFICATION_VERSION,
} from '@infra/core';
import { describe, expect, it } from 'vitest';
import DefaultExport, { LOCAL_DATA_META, LocalConnector } from './index.js';

describe('LocalConnector statics', () => {
  it('is the default export and a connector class for this contract', () => {
    expect(DefaultExport).toBe(LocalConnector);
    expect(() => assertConnectorClass(LocalConnector, '@infra/connector-local')).not.toThrow();
    expect(LocalConnector.specificationVersion).toBe(SPECIFICATION_VERSION);
    expect(LocalConnector.handlesExecution).toBe(true);
    expect(LocalConnector.description).toMatch(/this machine/i);
    expect(LocalConnector.dataMeta).toBe(LOCAL_DATA_META);
    expect(Object.keys(LocalConnector.dataMeta)).toEqual(['sudo_password']);
  });

  it('makes one host named @local in the group @local', async () => {
    expect(await collectNamesData(LocalConnector, undefined)).toEqual([['@local', {}, ['@local']]]);
  });

  it('refuses an argument with an InventoryError that says @local takes none', () => {
    let caught: unknown;
    try {
      LocalConnector.makeNamesData('somewhere');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InventoryError);
    expect((caught as InventoryError).code).toBe('INVENTORY_INVALID');
    expect((caught as Error).message).toContain('@local takes no argument');
    expect((caught as Error).message).toContain('"somewhere"');
  });
});
