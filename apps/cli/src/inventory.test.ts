import { MaskString } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { parseDataValue } from './data-value.js';
import { hostDataFor, splitInventory } from './inventory.js';
import { SecretRedactor } from './secret-redactor.js';

describe('splitInventory', () => {
  it('splits on commas and trims', () => {
    expect(splitInventory('@ssh:a, @ssh:b,web3')).toEqual(['@ssh:a', '@ssh:b', 'web3']);
    expect(splitInventory('@docker:alpine:3.20')).toEqual(['@docker:alpine:3.20']);
  });

  it('refuses an empty entry with an InventoryError', () => {
    expect(() => splitInventory('@local,,web1')).toThrow(
      expect.objectContaining({
        code: 'INVENTORY_INVALID',
        message: expect.stringMatching(/empty entry/),
      }),
    );
  });
});

describe('hostDataFor', () => {
  const dataMeta = {
    ssh_port: { description: 'port', type: 'integer' },
    ssh_user: { description: 'user', type: 'string' },
    ssh_password: { description: 'password', type: 'string', secret: true },
  } as const;
  const override = (text: string) => ({ text, value: parseDataValue(text) });

  it('applies --data over what the connector yielded, typed by dataMeta', () => {
    const redactor = new SecretRedactor();
    const hostData = hostDataFor(
      { ssh_hostname: 'web1', ssh_port: 22 },
      { ssh_port: override('2222'), ssh_user: override('1000'), extra: override('[1,2]') },
      dataMeta,
      redactor,
    );
    expect(hostData).toEqual({
      ssh_hostname: 'web1',
      ssh_port: 2222,
      ssh_user: '1000',
      extra: [1, 2],
    });
  });

  it('wraps secret keys in MaskString and redacts them from output', () => {
    const redactor = new SecretRedactor();
    const hostData = hostDataFor({}, { ssh_password: override('12345678') }, dataMeta, redactor);
    expect(hostData.ssh_password).toBeInstanceOf(MaskString);
    expect((hostData.ssh_password as MaskString).getRawValue()).toBe('12345678');
    expect(JSON.stringify(hostData)).toBe('{"ssh_password":"***"}');
    expect(redactor.redact('pw=12345678')).toBe('pw=***');
  });
});
