import { quote } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { AWKWARD_FILE_NAMES, allByteValues } from './conformance.js';

describe('allByteValues', () => {
  it('holds every byte value, and line endings a text mode would change', () => {
    const bytes = allByteValues();
    expect(new Set(bytes).size).toBe(256);
    expect(bytes.includes(Buffer.from('\r\n'))).toBe(true);
    expect(bytes.includes(0)).toBe(true);
  });
});

describe('AWKWARD_FILE_NAMES', () => {
  it('are distinct file names (no / or NUL) that need quoting or look like an option', () => {
    expect(new Set(AWKWARD_FILE_NAMES).size).toBe(AWKWARD_FILE_NAMES.length);
    for (const name of AWKWARD_FILE_NAMES) {
      expect(name).not.toMatch(/[/\0]/);
      if (!name.startsWith('-')) expect(quote(name)).not.toBe(name);
    }
    expect(AWKWARD_FILE_NAMES.some((name) => name.startsWith('-'))).toBe(true);
  });
});
