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
import type { RunningCommand } from './command-runner.js';
import { serveExec } from './exec-route.js';
import { type FileRouteContext, readFile, writeFileJson, writeFileRaw } from './file-routes.js';
import { clean, drainRefusedBody, sendJson } from './http-io.js';
import { HttpError } from './request-body.js';
import { authenticate, routeOf } from './request-route.js';
import { resourceDocument } from './resource-document.js';
import { TempJournal } from './temp-journal.js';

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
        for (const command of this.#running) command.kill();
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
      const { route, resourceId, filePath } = routeOf(req, state);
      authenticate(req, this.config.token);
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
          await serveExec(req, res, {
            config: this.config,
            running: this.#running,
            cwd: this.#cwd,
          });
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
}
