import { createRequire } from 'node:module';

let crypto: typeof import('node:crypto') | undefined;

/**
 * `bytes` random bytes from node:crypto, as hex: for temp names, tags and marks that
 * must not be guessed. node:crypto is loaded on the first call, not at import: importing
 * it costs a few milliseconds of every CLI start (issue #14), and most starts never need it.
 */
export function randomHex(bytes: number): string {
  crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return crypto.randomBytes(bytes).toString('hex');
}
