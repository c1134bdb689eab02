import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, payloadTooLarge } from './request-body.js';

/** Past this many bytes of a refused body, the connection is dropped instead of drained. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

export function decodePathPart(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, `The ${what} in the URL has a malformed percent-escape.`);
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

export function clean(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '?');
}

/** Count what is left of a body we answered early; drop the connection past a bound. */
export function drainRefusedBody(req: IncomingMessage): void {
  if (req.complete) return;
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

export async function* limitedBody(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw payloadTooLarge(limit);
    yield chunk;
  }
}
