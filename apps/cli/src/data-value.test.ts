import { describe, expect, it } from 'vitest';
import { dataValueFor, parseDataValue, splitKeyValue } from './data-value.js';

describe('parseDataValue', () => {
  it.each([
    ['true', true],
    ['False', false],
    ['22', 22],
    ['-3', -3],
    ['0755', 755],
    ['1.5', 1.5],
    ['["a","b"]', ['a', 'b']],
    ['{"x":1}', { x: 1 }],
    ['"quoted"', 'quoted'],
    ['null', null],
    ['plain text', 'plain text'],
    ['1.2.3', '1.2.3'],
    ['[not json', '[not json'],
    ['', ''],
    ['99999999999999999999', 1e20],
  ])('reads %j as %j', (text, value) => {
    expect(parseDataValue(text)).toEqual(value);
  });
});

describe('splitKeyValue', () => {
  it('splits on the first = only', () => {
    expect(splitKeyValue('--env', 'A=b=c')).toEqual(['A', 'b=c']);
    expect(splitKeyValue('--env', 'A=')).toEqual(['A', '']);
  });

  it('names the flag when there is no key', () => {
    expect(() => splitKeyValue('--data', 'novalue')).toThrow(
      /--data expects KEY=VALUE, got "novalue"/,
    );
  });
});

describe('dataValueFor', () => {
  it('keeps the typed text for keys the connector declares as strings', () => {
    expect(dataValueFor({ text: '1234', value: 1234 }, 'string')).toBe('1234');
    expect(dataValueFor({ text: 'true', value: true }, 'string')).toBe('true');
  });

  it('keeps the parsed value otherwise', () => {
    expect(dataValueFor({ text: '22', value: 22 }, 'integer')).toBe(22);
    expect(dataValueFor({ text: '22', value: 22 }, undefined)).toBe(22);
  });
});
