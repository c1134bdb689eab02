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
import { type CommandOutcome, outputText, type RunningCommand } from './command-runner.js';
import { notStartedMessage, startCommand } from './command-start.js';
import { type FileRouteContext, readFile, writeFileJson, writeFileRaw } from './file-routes.js';
import { clean, decodePathPart, drainRefusedBody, sendJson } from './http-io.js';
import {
  decodeBase64Field,
  HttpError,
  optionalEnv,
  parseJsonObject,
  readBody,
  requireAbsolutePath,
  requirePositiveNumber,
  requireString,
} from './request-body.js';
import { resourceDocument } from './resource-document.js';
import { TempJournal } from './temp-journal.js';
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
  /** Where notes of the temporary files under way are kept (see `TempJournal`). */
  readonly stateDir: string;
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

interface RequestState {
  route: string;
  resource: string;
  /** What became of the request when the client went away before the answer. */
  abandoned?: string;
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
  readonly #journal: TempJournal;
  /** Aborted when the shutdown cuts the last connections: file reads under way stop. */
  readonly #stop = new AbortController();
  #shuttingDown: Promise<void> | undefined;

  constructor(config: AgentConfig, log: AgentLog) {
    this.config = config;
    this.#log = log;
    const home = homedir();
    this.#cwd = home !== '' && existsSync(home) ? home : '/';
    this.#journal = new TempJournal(config.stateDir);
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

  /** Remove the temporary files of uploads that agents killed mid-write left; logs how many. */
  async removeStaleTemps(): Promise<void> {
    const removed = await this.#journal.removeStale();
    if (removed.length > 0) {
      this.#log(`removed ${removed.length} temporary file(s) left by an agent stopped mid-upload`);
    }
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
          await writeFileJson(req, res, this.#fileLimits(state));
          return;
        case 'file':
          if (req.method === 'PUT') {
            state.abandoned = 'the upload was discarded; the file is unchanged';
            await writeFileRaw(req, res, filePath as string, this.#fileLimits(state));
          } else {
            state.abandoned = 'the download was stopped';
            await readFile(req, res, filePath as string, this.#fileLimits(state));
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

  /** What the file routes need of the server for one request. */
  #fileLimits(state: RequestState): FileRouteContext {
    return {
      maxBodyBytes: this.config.maxBodyBytes,
      journal: this.#journal,
      stopping: this.#stop.signal,
      onWritten: () => {
        state.abandoned = 'the file was written';
      },
    };
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
}
