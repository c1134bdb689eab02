import { existsSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import {
  type CommandOutcome,
  type CommandRequest,
  outputText,
  RunningCommand,
} from './command-runner.js';
import { fileError, openFileForRead, writeFileAtomic } from './file-store.js';
import {
  declaredLength,
  decodeBase64Field,
  HttpError,
  optionalEnv,
  parseJsonObject,
  payloadTooLarge,
  readBody,
  requireAbsolutePath,
  requirePositiveNumber,
  requireString,
} from './request-body.js';
import { resourceDocument } from './resource-document.js';
import { bearerToken, tokenMatches } from './token.js';

export interface AgentConfig {
  readonly host: string;
  readonly port: number;
  readonly resourceId: string;
  /** The API token; undefined only with --insecure-no-auth (loopback). */
  readonly token: string | undefined;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly maxBodyBytes: number;
  readonly maxOutputBytes: number;
  readonly maxConcurrentCommands: number;
  readonly maxTimeoutSeconds: number;
  readonly shutdownTimeoutSeconds: number;
  /** The environment commands start from. The token variable is removed from it. */
  readonly commandEnv: NodeJS.ProcessEnv;
}

/** Where the agent writes its log lines (stderr in the bin). */
export type AgentLog = (line: string) => void;

type Route = 'resource' | 'exec' | 'files' | 'file';

const ROUTE_TEMPLATES: Record<Route, string> = {
  resource: '/resources/{id}',
  exec: '/resources/{id}/exec',
  files: '/resources/{id}/files',
  file: '/resources/{id}/files/{path}',
};

const ALLOWED_METHODS: Record<Route, readonly string[]> = {
  resource: ['GET'],
  exec: ['POST'],
  files: ['POST'],
  file: ['GET', 'PUT'],
};

const RESOURCE_PATH = /^\/resources\/([^/]+)(?:(\/exec)|(\/files)(?:\/(.*))?)?$/s;

/** Past this many bytes of a refused body, the connection is dropped instead of drained. */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

interface RequestState {
  route: string;
  resource: string;
  /** What became of the request when the client went away before the answer. */
  abandoned?: string;
}

function decodePathPart(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, `The ${what} in the URL has a malformed percent-escape.`);
  }
}

function sendJson(
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

function clean(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '?');
}

/** Count what is left of a body we answered early; drop the connection past a bound. */
function drainRefusedBody(req: IncomingMessage): void {
  if (req.complete) return;
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

async function* limitedBody(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw payloadTooLarge(limit);
    yield chunk;
  }
}

/** Why a command did not start, saying that it did not run. */
function notStartedMessage(error: unknown): string {
  return `The command did not run: /bin/sh could not be started (${(error as Error)?.message ?? error}).`;
}

/** Start a command; one that cannot start at once (E2BIG, ...) is an HTTP error saying it did not run. */
function startCommand(request: CommandRequest): RunningCommand {
  try {
    return new RunningCommand(request);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'E2BIG') {
      throw new HttpError(
        400,
        `The command did not run: at ${Buffer.byteLength(request.command)} bytes (with its environment) it is too long for this system to start (E2BIG; Linux takes at most 128 KiB in one argument). Send a long script on stdin (exec-stdin) instead.`,
      );
    }
    throw new HttpError(500, notStartedMessage(error));
  }
}

/**
 * The REST exec protocol server for this machine: one resource (the host), the
 * base endpoints and the extensions listed in `resource-document.ts`.
 */
export class AgentServer {
  readonly config: AgentConfig;
  readonly #log: AgentLog;
  readonly #server: Server;
  readonly #running = new Set<RunningCommand>();
  /** Requests being handled, so a shutdown lets them clean up (temp files) before it ends. */
  readonly #handling = new Set<Promise<void>>();
  readonly #cwd: string;
  /** Aborted when the shutdown cuts the last connections: file reads under way stop. */
  readonly #stop = new AbortController();
  #shuttingDown: Promise<void> | undefined;

  constructor(config: AgentConfig, log: AgentLog) {
    this.config = config;
    this.#log = log;
    const home = homedir();
    this.#cwd = home !== '' && existsSync(home) ? home : '/';
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const handling = this.#handle(req, res);
      this.#handling.add(handling);
      void handling.finally(() => this.#handling.delete(handling));
    };
    this.#server = config.tls
      ? createHttpsServer({ cert: config.tls.cert, key: config.tls.key }, handler)
      : createHttpServer(handler);
    this.#server.keepAliveTimeout = 30_000;
    // Long commands answer late: the request timeout must not cut them.
    this.#server.requestTimeout = 0;
  }

  /** Start listening; resolves to the URL clients use (with the real port when 0 was asked). */
  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.config.port, this.config.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.config.tls ? 'https' : 'http'}://${host}:${address.port}`;
  }

  get runningCommands(): number {
    return this.#running.size;
  }

  /**
   * Stop accepting, let running commands finish for up to the shutdown timeout,
   * then kill their process groups. Resolves when the server is closed.
   */
  shutdown(): Promise<void> {
    this.#shuttingDown ??= this.#shutdown();
    return this.#shuttingDown;
  }

  async #shutdown(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const running = [...this.#running];
    if (running.length > 0) {
      this.#log(
        `shutting down: waiting up to ${this.config.shutdownTimeoutSeconds}s for ${running.length} running command(s)`,
      );
      const finished = Promise.allSettled(running.map((command) => command.done));
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        finished.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), this.config.shutdownTimeoutSeconds * 1000);
        }),
      ]);
      clearTimeout(timer);
      if (late) {
        this.#log(`shutting down: killing ${this.#running.size} command(s) still running`);
        for (const command of this.#running) command.killNow();
        await finished;
      }
    }
    // Give the last answers a moment to flush, then close what is left.
    const flushed = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
    ]);
    if (!flushed) {
      this.#stop.abort();
      this.#server.closeAllConnections();
    }
    await closed;
    // Cut requests fail at once; let them remove what they wrote.
    await Promise.allSettled([...this.#handling]);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const state: RequestState = { route: '-', resource: '-' };
    // One log line once the answer is over and the handler is done, saying what happened.
    let handled = false;
    let closed = false;
    let goneBeforeAnswer = false;
    const log = () => {
      const ms = (performance.now() - started).toFixed(1);
      const what = `${req.method} ${state.route} resource=${clean(state.resource)}`;
      if (goneBeforeAnswer) {
        this.#log(
          `${what} status=none duration=${ms}ms (the client went away before the answer: ${state.abandoned ?? 'nothing was answered'})`,
        );
        return;
      }
      const cut = res.writableFinished ? '' : ' (connection closed before the answer was complete)';
      this.#log(`${what} status=${res.statusCode} duration=${ms}ms${cut}`);
    };
    res.on('close', () => {
      closed = true;
      goneBeforeAnswer = !res.headersSent;
      if (handled) log();
    });
    try {
      await this.#serve(req, res, state);
    } finally {
      handled = true;
      if (closed) log();
    }
  }

  async #serve(req: IncomingMessage, res: ServerResponse, state: RequestState): Promise<void> {
    try {
      if (this.#shuttingDown) {
        throw new HttpError(503, 'The agent is shutting down.', { Connection: 'close' });
      }
      const { route, resourceId, filePath } = this.#route(req, state);
      this.#authenticate(req);
      if (resourceId !== this.config.resourceId) {
        throw new HttpError(
          404,
          `No resource ${JSON.stringify(resourceId)} here: this agent serves ${JSON.stringify(this.config.resourceId)}.`,
        );
      }
      switch (route) {
        case 'resource':
          sendJson(res, 200, resourceDocument(this.config.resourceId, this.config));
          return;
        case 'exec':
          state.abandoned = 'its command was stopped';
          await this.#exec(req, res);
          return;
        case 'files':
          state.abandoned = 'the upload was discarded; the file is unchanged';
          await this.#writeFileJson(req, res, state);
          return;
        case 'file':
          if (req.method === 'PUT') {
            state.abandoned = 'the upload was discarded; the file is unchanged';
            await this.#writeFileRaw(req, res, filePath as string, state);
          } else {
            state.abandoned = 'the download was stopped';
            await this.#readFile(req, res, filePath as string);
          }
          return;
      }
    } catch (error) {
      this.#fail(req, res, error);
    }
  }

  #route(
    req: IncomingMessage,
    state: RequestState,
  ): { route: Route; resourceId: string; filePath?: string } {
    const rawPath = (req.url ?? '/').split('?')[0] as string;
    const match = RESOURCE_PATH.exec(rawPath);
    if (!match) {
      throw new HttpError(
        404,
        'Unknown path: the protocol serves /resources/{id}, /resources/{id}/exec, /resources/{id}/files and /resources/{id}/files/{path}.',
      );
    }
    const route: Route = match[2]
      ? 'exec'
      : match[3]
        ? match[4] === undefined
          ? 'files'
          : 'file'
        : 'resource';
    state.route = ROUTE_TEMPLATES[route];
    const resourceId = decodePathPart(match[1] as string, 'resource ID');
    state.resource = resourceId;
    const allowed = ALLOWED_METHODS[route];
    if (!allowed.includes(req.method ?? '')) {
      throw new HttpError(
        405,
        `${req.method} is not allowed on ${ROUTE_TEMPLATES[route]}: use ${allowed.join(' or ')}.`,
        {
          Allow: allowed.join(', '),
        },
      );
    }
    if (route !== 'file') return { route, resourceId };
    const filePath = requireAbsolutePath(
      decodePathPart(match[4] as string, 'file path'),
      'The file path in the URL',
    );
    return { route, resourceId, filePath };
  }

  #authenticate(req: IncomingMessage): void {
    const expected = this.config.token;
    if (expected === undefined) return;
    const presented = bearerToken(req.headers.authorization);
    if (presented === undefined || !tokenMatches(presented, expected)) {
      throw new HttpError(
        401,
        presented === undefined
          ? 'Missing token: send the header "Authorization: Bearer <token>".'
          : "Wrong token: the bearer token does not match this agent's.",
        { 'WWW-Authenticate': 'Bearer realm="infra-agent"' },
      );
    }
  }

  #fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const httpError =
      error instanceof HttpError
        ? error
        : new HttpError(500, `Internal error: ${(error as Error)?.message ?? error}`);
    if (!(error instanceof HttpError)) this.#log(`error: ${(error as Error)?.stack ?? error}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, httpError.status, { error: httpError.message }, { ...httpError.headers });
    drainRefusedBody(req);
  }

  async #exec(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = parseJsonObject(await readBody(req, this.config.maxBodyBytes));
    const command = requireString(body, 'command');
    const timeoutSeconds = requirePositiveNumber(body, 'timeout');
    if (timeoutSeconds > this.config.maxTimeoutSeconds) {
      throw new HttpError(
        400,
        `Field "timeout" is ${timeoutSeconds}s, over this agent's limit of ${this.config.maxTimeoutSeconds}s (--max-timeout).`,
      );
    }
    const stdin =
      body.stdin === undefined || body.stdin === null
        ? undefined
        : decodeBase64Field(requireString(body, 'stdin'), 'stdin');
    const env = optionalEnv(body, 'env');
    if (this.#running.size >= this.config.maxConcurrentCommands) {
      throw new HttpError(
        429,
        `This agent is already running ${this.#running.size} commands, its limit (--max-concurrent ${this.config.maxConcurrentCommands}). Try again when one has finished.`,
        { 'Retry-After': '1' },
      );
    }
    const streamed = /application\/x-ndjson/i.test(req.headers.accept ?? '');
    const writeEvent = (event: object): boolean => res.write(`${JSON.stringify(event)}\n`);
    // Started before any answer: a command that cannot start (too long: E2BIG) gets
    // an error status, never a 200 stream that ends without saying it did not run.
    const running = startCommand({
      command,
      timeoutSeconds,
      ...(stdin ? { stdin } : {}),
      ...(env ? { env } : {}),
      cwd: this.#cwd,
      baseEnv: this.config.commandEnv,
      ...(streamed
        ? {
            onChunk: (stream, chunk) =>
              writeEvent({ type: stream, data: chunk.toString('base64') }),
          }
        : { maxOutputBytes: this.config.maxOutputBytes }),
    });
    if (streamed) {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
      res.flushHeaders();
    }
    this.#running.add(running);
    res.on('drain', () => running.resume());
    // A client that goes away (Ctrl-C, its own timeout) takes its command with it.
    res.on('close', () => {
      if (!res.writableFinished) running.kill();
    });
    let outcome: CommandOutcome;
    try {
      outcome = await running.done;
    } catch (error) {
      const message = notStartedMessage(error);
      if (!streamed) throw new HttpError(500, message);
      res.end(`${JSON.stringify({ type: 'error', message })}\n`);
      return;
    } finally {
      this.#running.delete(running);
    }
    const status = {
      exit_code: outcome.exitCode,
      signal: outcome.signal,
      timed_out: outcome.timedOut,
    };
    if (streamed) {
      res.end(`${JSON.stringify({ type: 'exit', ...status })}\n`);
      return;
    }
    const limit = this.config.maxOutputBytes;
    sendJson(res, 200, {
      exit_code: outcome.exitCode,
      stdout: outputText(outcome.stdout, outcome.stdoutTruncated, 'stdout', limit),
      stderr: outputText(outcome.stderr, outcome.stderrTruncated, 'stderr', limit),
      signal: outcome.signal,
      timed_out: outcome.timedOut,
      truncated: outcome.stdoutTruncated || outcome.stderrTruncated,
    });
  }

  async #writeFileJson(
    req: IncomingMessage,
    res: ServerResponse,
    state: RequestState,
  ): Promise<void> {
    const body = parseJsonObject(await readBody(req, this.config.maxBodyBytes));
    const path = requireAbsolutePath(requireString(body, 'path'), 'Field "path"');
    const content = requireString(body, 'content');
    const encoding = requireString(body, 'encoding');
    if (encoding !== 'base64') {
      throw new HttpError(
        400,
        `Field "encoding" must be "base64", got ${JSON.stringify(encoding)}.`,
      );
    }
    const size = await writeFileAtomic(path, decodeBase64Field(content, 'content'));
    state.abandoned = 'the file was written';
    sendJson(res, 200, { path, size });
  }

  async #writeFileRaw(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    state: RequestState,
  ): Promise<void> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/octet-stream\b/i.test(type)) {
      throw new HttpError(
        415,
        `PUT /resources/{id}/files/{path} takes the raw bytes as "Content-Type: application/octet-stream", got ${JSON.stringify(type)}.`,
      );
    }
    const length = declaredLength(req);
    if (length !== undefined && length > this.config.maxBodyBytes)
      throw payloadTooLarge(this.config.maxBodyBytes, length);
    const size = await writeFileAtomic(path, limitedBody(req, this.config.maxBodyBytes));
    state.abandoned = 'the file was written';
    sendJson(res, 200, { path, size });
  }

  /**
   * A regular file's bytes: raw (chunked: the size `stat` gives is not trusted,
   * files in /proc say 0) or base64 JSON, read up to --max-body. Reading stops
   * when the client goes away or the agent shuts down.
   */
  async #readFile(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const raw = /application\/octet-stream/i.test(req.headers.accept ?? '');
    const stream = await openFileForRead(path);
    const stop = () => stream.destroy();
    res.once('close', stop);
    this.#stop.signal.addEventListener('abort', stop, { once: true });
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
      const limit = this.config.maxBodyBytes;
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
      this.#stop.signal.removeEventListener('abort', stop);
    }
  }
}
