import { inspect } from 'node:util';

/**
 * What went wrong, in words: an Error's message; for anything else thrown (`throw
 * { reason }`, `throw 42`) the value itself, shown as code would write it, never
 * `[object Object]`.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && message !== '') return message;
  return `a non-Error value was thrown: ${inspect(error, { depth: 3, breakLength: Number.POSITIVE_INFINITY })}`;
}
