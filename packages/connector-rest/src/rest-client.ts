import {
  type ClientRequest,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { sleep } from '@infra/connector-utils';
import type { MaskString } from '@infra/core';
import {
  connectionError,
  httpStatusError,
  type RequestSubject,
  RestRequestError,
} from './rest-errors.js';

export interface RestClientOptions {
  /** `http(s)://host:port/optional/prefix`, already checked. */
  readonly apiUrl: URL;
  readonly apiKey: MaskString | undefined;
  /** Default seconds of silence before a request is given up. */
  readonly timeoutSeconds: number;
  /** Extra CA certificates (PEM) to trust, from `api_ca_file`. */
  readonly ca?: Buffer;
  /** Do not check the server's certificate. */
  readonly insecureTls?: boolean;
}

export interface RestRequestOptions {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** Appended to the api_url's path, already percent-encoded. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON body. */
  readonly json?: unknown;
  /** A raw body; a stream needs `contentLength` or goes chunked. */
  readonly body?: Buffer | Readable;
  readonly contentLength?: number;
  /** Seconds of silence before giving up (default: the client's). */
  readonly timeoutSeconds?: number;
  readonly signal?: AbortSignal;
  /** Retry on connection errors: only for idempotent requests. */
  readonly retry?: boolean;
  readonly subject?: RequestSubject;
}

/** Connection errors worth a retry of an idempotent request. */
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EAI_AGAIN', 'ETIMEDOUT']);
/** Seconds before the second and third attempt of a request whose connection failed. */
const RETRY_DELAYS = [0.2, 0.6];

/** A 2xx answer whose body is still to be read. */
export class RestResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly #message: IncomingMessage;
  readonly #fail: (error: unknown) => RestRequestError;
  readonly #request: string;

  constructor(
    message: IncomingMessage,
    request: string,
    fail: (error: unknown) => RestRequestError,
  ) {
    this.status = message.statusCode ?? 0;
    this.headers = message.headers;
    this.#message = message;
    this.#request = request;
    this.#fail = fail;
  }

  get contentType(): string {
    return (this.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  }

  /** The body's chunks; a broken connection becomes a `RestRequestError`. */
  async *chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of this.#message as AsyncIterable<Buffer>) yield chunk;
    } catch (error) {
      throw this.#fail(error);
    }
    if (!this.#message.complete)
      throw this.#fail(Object.assign(new Error('premature close'), { code: 'ECONNRESET' }));
  }

  async buffer(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.chunks()) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async json(): Promise<unknown> {
    const text = (await this.buffer()).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new RestRequestError(
        'REST_BAD_RESPONSE',
        this.#request,
        `the answer is not JSON (${this.contentType || 'no content type'}): ${JSON.stringify(text.slice(0, 200))}.`,
      );
    }
  }

  /** The body as lines (NDJSON), each without its newline. */
  async *lines(): AsyncGenerator<string> {
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of this.chunks()) {
      pending += decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        const line = pending.slice(0, newline).trim();
        if (line !== '') yield line;
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    }
    pending += decoder.decode();
    if (pending.trim() !== '') yield pending.trim();
  }

  /** Read and drop the body (so the connection can be reused). */
  discard(): void {
    this.#message.resume();
  }
}

/** The error text of a non-2xx answer: `{"error": "..."}`, or the start of the body. */
function serverMessage(body: Buffer): string | undefined {
  const text = body.toString('utf8').trim();
  if (text === '') return undefined;
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    const message = parsed.error ?? parsed.message;
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: show the text.
  }
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/**
 * An HTTP(S) client for one api_url: keep-alive connections, the bearer token,
 * the TLS trust settings, and errors that say what happened and where.
 */
export class RestClient {
  readonly #options: RestClientOptions;
  readonly #agent: HttpAgent;
  readonly #https: boolean;
  readonly #prefix: string;
  /** `http://host:port`, for messages. */
  readonly origin: string;

  constructor(options: RestClientOptions) {
    this.#options = options;
    this.#https = options.apiUrl.protocol === 'https:';
    this.#prefix = options.apiUrl.pathname.replace(/\/+$/, '');
    this.origin = `${options.apiUrl.protocol}//${options.apiUrl.host}`;
    const agentOptions = { keepAlive: true, maxSockets: 16, timeout: 20_000 };
    this.#agent = this.#https
      ? new HttpsAgent({
          ...agentOptions,
          ...(options.ca ? { ca: options.ca } : {}),
          rejectUnauthorized: !options.insecureTls,
        })
      : new HttpAgent(agentOptions);
  }

  /** The full URL of a path, for messages (no credentials). */
  urlOf(path: string): string {
    return `${this.origin}${this.#prefix}${path}`;
  }

  /** Send a request; resolves on a 2xx answer, throws `RestRequestError` otherwise. */
  async send(options: RestRequestOptions): Promise<RestResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#attempt(options);
      } catch (error) {
        const cause = (error as { cause?: NodeJS.ErrnoException }).cause;
        const delay = RETRY_DELAYS[attempt];
        const retryable =
          options.retry &&
          error instanceof RestRequestError &&
          error.status === undefined &&
          error.code !== 'REST_TIMEOUT' &&
          error.code !== 'REST_ABORTED' &&
          RETRYABLE.has(cause?.code ?? '');
        if (!retryable || delay === undefined || options.signal?.aborted) throw error;
        await sleep(delay, options.signal);
      }
    }
  }

  /** `send` and parse the JSON answer. */
  async json(options: RestRequestOptions): Promise<unknown> {
    return (await this.send(options)).json();
  }

  close(): void {
    this.#agent.destroy();
  }

  #attempt(options: RestRequestOptions): Promise<RestResponse> {
    const url = this.#options.apiUrl;
    const request = `${options.method} ${this.urlOf(options.path)}`;
    const timeoutSeconds = options.timeoutSeconds ?? this.#options.timeoutSeconds;
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    const apiKey = this.#options.apiKey?.getRawValue();
    if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
    let body: Buffer | Readable | undefined = options.body;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json), 'utf8');
      headers['Content-Type'] = 'application/json';
    }
    if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
    else if (options.contentLength !== undefined)
      headers['Content-Length'] = String(options.contentLength);

    const state = { timedOut: false, aborted: false, responded: false };
    const fail = (error: unknown): RestRequestError =>
      error instanceof RestRequestError
        ? error
        : connectionError(request, this.origin, error as NodeJS.ErrnoException, {
            timeoutSeconds,
            ...state,
          });

    return new Promise<RestResponse>((resolve, reject) => {
      const send = this.#https ? httpsRequest : httpRequest;
      const req: ClientRequest = send({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port,
        path: `${this.#prefix}${options.path}`,
        method: options.method,
        headers,
        agent: this.#agent,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      req.setTimeout(timeoutSeconds * 1000, () => {
        state.timedOut = true;
        req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
      });
      options.signal?.addEventListener('abort', () => {
        state.aborted = true;
      });
      req.on('error', (error) => {
        if (!state.responded) reject(fail(error));
      });
      req.on('response', (message) => {
        state.responded = true;
        const status = message.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(new RestResponse(message, request, fail));
          return;
        }
        const chunks: Buffer[] = [];
        message.on('data', (chunk: Buffer) => chunks.push(chunk));
        message.on('error', () =>
          reject(httpStatusError(request, status, undefined, options.subject)),
        );
        message.on('end', () =>
          reject(
            httpStatusError(request, status, serverMessage(Buffer.concat(chunks)), options.subject),
          ),
        );
      });
      if (body === undefined || Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        body.on('error', (error) => req.destroy(error));
        body.pipe(req);
      }
    });
  }
}
