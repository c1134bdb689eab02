import { describe, expect, it } from 'vitest';
import { SecretRedactor } from './secret-redactor.js';

describe('SecretRedactor', () => {
  it('replaces every known secret with ***', () => {
    const redactor = new SecretRedactor();
    redactor.add('hunter22');
    redactor.add('tok-9f8e');
    expect(redactor.redact('pw hunter22 and hunter22, token tok-9f8e')).toBe(
      'pw *** and ***, token ***',
    );
  });

  it('leaves secrets too short to search for alone', () => {
    const redactor = new SecretRedactor();
    redactor.add('ab');
    expect(redactor.redact('abc')).toBe('abc');
  });
});
