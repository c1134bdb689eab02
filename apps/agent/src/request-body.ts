import type { IncomingMessage } from 'node:http';

/** An answer other than 2xx: the status and a message for the `{"error": ...}` body. */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.headers = headers;
  }
}

export function payloadTooLarge(limit: number, size?: number): HttpError {
  const what = size === undefined ? 'The request body is' : `The request body (${size} bytes) is`;
  return new HttpError(
    413,
    `${what} over this agent's limit of ${limit} bytes (--max-body). Send less, or start the agent with a larger --max-body.`,
  );
}

/** The declared body size, or undefined for a chunked body. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}

/** Read a whole body into memory, refusing (413) past `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const length = declaredLength(req);
  if (length !== undefined && length > limit) throw payloadTooLarge(limit, length);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw payloadTooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

export type JsonObject = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Parse a request body as a JSON object: malformed JSON or another value is a 400. */
export function parseJsonObject(body: Buffer): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, `The request body is not valid JSON: ${(error as Error).message}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, `The request body must be a JSON object, got ${describe(value)}.`);
  }
  return value as JsonObject;
}

export function requireString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined) throw new HttpError(400, `Missing field "${field}" (a string).`);
  if (typeof value !== 'string') {
    throw new HttpError(400, `Field "${field}" must be a string, got ${describe(value)}.`);
  }
  return value;
}

export function requirePositiveNumber(body: JsonObject, field: string): number {
  const value = body[field];
  if (value === undefined)
    throw new HttpError(400, `Missing field "${field}" (a number of seconds).`);
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new HttpError(
      400,
      `Field "${field}" must be a positive number of seconds, got ${typeof value === 'number' ? value : describe(value)}.`,
    );
  }
  return value;
}

/** An absolute path without NUL bytes (`what` names where it came from). */
export function requireAbsolutePath(value: string, what: string): string {
  if (!value.startsWith('/')) {
    throw new HttpError(
      400,
      `${what} must be an absolute path (starting with "/"), got ${JSON.stringify(value)}.`,
    );
  }
  if (value.includes('\0')) throw new HttpError(400, `${what} must not contain a NUL byte.`);
  return value;
}

/**
 * Strict base64 (RFC 4648, padded): anything else is a 400 naming the field.
 * Node's decoder skips characters that are not base64, so a decoded length that
 * differs from the one the text implies means there were some.
 */
export function decodeBase64Field(value: string, field: string): Buffer {
  const padding = value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0;
  const decoded = value.length % 4 === 0 ? Buffer.from(value, 'base64') : undefined;
  if (decoded === undefined || decoded.length !== (value.length / 4) * 3 - padding) {
    throw new HttpError(400, `Field "${field}" must be base64 (RFC 4648, with padding).`);
  }
  return decoded;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `env` extension field: an object of string values with valid names. */
export function optionalEnv(body: JsonObject, field: string): Record<string, string> | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(
      400,
      `Field "${field}" must be an object of strings, got ${describe(value)}.`,
    );
  }
  const env: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!ENV_NAME.test(key)) {
      throw new HttpError(
        400,
        `Field "${field}": ${JSON.stringify(key)} is not a valid environment variable name.`,
      );
    }
    if (typeof item !== 'string') {
      throw new HttpError(400, `Field "${field}.${key}" must be a string, got ${describe(item)}.`);
    }
    env[key] = item;
  }
  return env;
}
