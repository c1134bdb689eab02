import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { fileError, openFileForRead, writeFileAtomic } from './file-store.js';
import { limitedBody, sendJson } from './http-io.js';
import {
  declaredLength,
  decodeBase64Field,
  HttpError,
  parseJsonObject,
  payloadTooLarge,
  readBody,
  requireAbsolutePath,
  requireString,
} from './request-body.js';
import type { TempJournal } from './temp-journal.js';

/** What the file routes need of the server for one request. */
export interface FileRouteContext {
  readonly maxBodyBytes: number;
  readonly journal: TempJournal;
  /** Aborted when the shutdown cuts the last connections. */
  readonly stopping: AbortSignal;
  /** The file is in place (whatever becomes of the answer). */
  onWritten(): void;
}

/** `POST /resources/{id}/files`: a base64 file in JSON, written atomically. */
export async function writeFileJson(
  req: IncomingMessage,
  res: ServerResponse,
  context: FileRouteContext,
): Promise<void> {
  const body = parseJsonObject(await readBody(req, context.maxBodyBytes));
  const path = requireAbsolutePath(requireString(body, 'path'), 'Field "path"');
  const content = requireString(body, 'content');
  const encoding = requireString(body, 'encoding');
  if (encoding !== 'base64') {
    throw new HttpError(400, `Field "encoding" must be "base64", got ${JSON.stringify(encoding)}.`);
  }
  const size = await writeFileAtomic(path, decodeBase64Field(content, 'content'), context.journal);
  context.onWritten();
  sendJson(res, 200, { path, size });
}

/** `PUT /resources/{id}/files/{path}`: the raw bytes, written atomically. */
export async function writeFileRaw(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  context: FileRouteContext,
): Promise<void> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/octet-stream\b/i.test(type)) {
    throw new HttpError(
      415,
      `PUT /resources/{id}/files/{path} takes the raw bytes as "Content-Type: application/octet-stream", got ${JSON.stringify(type)}.`,
    );
  }
  const length = declaredLength(req);
  if (length !== undefined && length > context.maxBodyBytes)
    throw payloadTooLarge(context.maxBodyBytes, length);
  const size = await writeFileAtomic(path, limitedBody(req, context.maxBodyBytes), context.journal);
  context.onWritten();
  sendJson(res, 200, { path, size });
}

/**
 * A regular file's bytes: raw (chunked: the size `stat` gives is not trusted,
 * files in /proc say 0) or base64 JSON, read up to --max-body. Reading stops
 * when the client goes away or the agent shuts down.
 */
export async function readFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  context: FileRouteContext,
): Promise<void> {
  const raw = /application\/octet-stream/i.test(req.headers.accept ?? '');
  const stream = await openFileForRead(path);
  const stop = () => stream.destroy();
  res.once('close', stop);
  context.stopping.addEventListener('abort', stop, { once: true });
  try {
    if (raw) {
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      // A read error after the headers went out cuts the answer short (no last chunk),
      // which the client sees as a failed download.
      await pipeline(stream, res).catch(() => res.destroy());
      return;
    }
    // base64 in JSON needs the whole file in memory: keep that bounded.
    const limit = context.maxBodyBytes;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) {
        throw new HttpError(
          413,
          `${path} is over the ${limit} bytes this agent sends as base64 JSON (--max-body). Use the files-raw extension (Accept: application/octet-stream).`,
        );
      }
      chunks.push(chunk);
    }
    if (res.destroyed) return;
    sendJson(res, 200, { content: Buffer.concat(chunks).toString('base64') });
  } catch (error) {
    if (res.destroyed) return; // the client went away, or the shutdown cut it: nobody to answer
    throw fileError(error, path, 'read');
  } finally {
    stream.destroy();
    res.off('close', stop);
    context.stopping.removeEventListener('abort', stop);
  }
}
