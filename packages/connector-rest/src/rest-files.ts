import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { openLocalDestination } from '@infra/connector-utils';
import type { FileDestination, FileSource } from '@infra/core';
import { encodeFilePath } from './protocol.js';
import { RestRequestError } from './rest-errors.js';
import type { ExecTarget } from './rest-exec.js';

async function readAll(source: NodeJS.ReadableStream | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

/** Command stdin as bytes: the JSON exec request carries it whole (and a retry sends it again). */
export async function stdinBytes(
  stdin: string | Buffer | NodeJS.ReadableStream | undefined,
): Promise<Buffer | undefined> {
  if (stdin === undefined) return undefined;
  if (typeof stdin === 'string') return Buffer.from(stdin, 'utf8');
  if (Buffer.isBuffer(stdin)) return stdin;
  return readAll(stdin);
}

/** A file source's bytes, whole. */
export async function sourceBytes(src: FileSource): Promise<Buffer> {
  if (Buffer.isBuffer(src)) return src;
  if (typeof src === 'string') return readFile(src);
  return readAll(src);
}

/** The bytes' base64 JSON size, to check against the server's limit before sending. */
export function base64Size(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** Refuse a body over the limit the server advertised, naming it. */
export function checkBodySize(target: ExecTarget, bytes: number, what: string): void {
  const limit = target.features.maxBodyBytes;
  if (limit !== undefined && bytes > limit) {
    throw new Error(
      `${what} would be ${bytes} bytes, over the agent's request limit of ${limit} bytes: raise its --max-body.`,
    );
  }
}

/**
 * Write downloaded bytes where the caller asked: a local path through a temp file
 * and rename (`openLocalDestination`: a failed download leaves the old file byte
 * for byte), or a stream, which is ended.
 */
export async function writeDestination(
  dest: FileDestination,
  content: Buffer | AsyncIterable<Buffer>,
  mode?: number,
): Promise<void> {
  const destination = await openLocalDestination(dest, { mode });
  try {
    const chunks = Buffer.isBuffer(content) ? [content] : content;
    for await (const chunk of chunks) {
      if (!destination.sink.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          destination.sink.once('drain', resolve);
          destination.sink.once('error', reject);
        });
      }
    }
  } catch (error) {
    await destination.discard();
    throw error;
  }
  await destination.commit();
}

/** Straight through the files endpoints, as the agent's user. */
export async function uploadFile(
  target: ExecTarget,
  src: FileSource,
  remotePath: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { client } = target;
  const subject = { notFound: `the directory of ${remotePath}` };
  if (target.features.extensions.has('filesRaw')) {
    let body: Buffer | Readable;
    let contentLength: number | undefined;
    if (typeof src === 'string') {
      contentLength = (await stat(src)).size;
      body = createReadStream(src);
    } else {
      body = src as Buffer | Readable;
      if (Buffer.isBuffer(src)) contentLength = src.length;
    }
    if (contentLength !== undefined) checkBodySize(target, contentLength, 'The upload');
    const response = await client.send({
      method: 'PUT',
      path: `${target.resourcePath}/files/${encodeFilePath(remotePath)}`,
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
      ...(contentLength !== undefined ? { contentLength } : {}),
      ...(signal ? { signal } : {}),
      subject,
    });
    response.discard();
    return;
  }
  const content = await sourceBytes(src);
  checkBodySize(
    target,
    base64Size(content.length) + remotePath.length + 64,
    'The base64 JSON upload',
  );
  const response = await client.send({
    method: 'POST',
    path: `${target.resourcePath}/files`,
    json: { path: remotePath, content: content.toString('base64'), encoding: 'base64' },
    ...(signal ? { signal } : {}),
    subject,
  });
  response.discard();
}

/** Straight from the files endpoints, as the agent's user. */
export async function downloadFile(
  target: ExecTarget,
  remotePath: string,
  dest: FileDestination,
  options: { signal?: AbortSignal | undefined; mode?: number | undefined },
): Promise<void> {
  const { client } = target;
  const raw = target.features.extensions.has('filesRaw');
  const path = `${target.resourcePath}/files/${encodeFilePath(remotePath)}`;
  const response = await client.send({
    method: 'GET',
    path,
    headers: { Accept: raw ? 'application/octet-stream' : 'application/json' },
    retry: true,
    ...(options.signal ? { signal: options.signal } : {}),
    subject: { notFound: `file ${remotePath}` },
  });
  if (response.contentType === 'application/octet-stream') {
    await writeDestination(dest, response.chunks(), options.mode);
    return;
  }
  const answer = (await response.json()) as { content?: unknown };
  if (typeof answer?.content !== 'string') {
    throw new RestRequestError(
      'REST_BAD_RESPONSE',
      `GET ${client.urlOf(path)}`,
      'the answer has no "content" string (base64).',
    );
  }
  await writeDestination(dest, Buffer.from(answer.content, 'base64'), options.mode);
}
