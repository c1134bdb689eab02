import { describe, expect, it } from 'vitest';
import { errorMessage } from './error-message.js';

describe('errorMessage', () => {
  it('says what was thrown, never [object Object]', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage({ message: 'shaped like an error' })).toBe('shaped like an error');
    expect(errorMessage({ reason: 'no plan', code: 3 })).toBe(
      "a non-Error value was thrown: { reason: 'no plan', code: 3 }",
    );
    expect(errorMessage(undefined)).toBe('a non-Error value was thrown: undefined');
  });
});
