import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import {
  BaseConnector,
  type CommandInput,
  type CommandResult,
  CommandTimeoutError,
  ConnectError,
  type ConnectorArguments,
  ConnectorStateError,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InventoryError,
  isSuccess,
  type MaskString,
  makeUnixCommand,
  type NamesData,
  OutputCollector,
  type RunShellCommandOptions,
  runWithRetries,
  runWithSudoRetry,
  sh,
  toStringCommand,
  withSudoPasswordStdin,
} from '@infra/core';
import {
  makeBase64DumpScript,
  makeInstallScript,
  makeStagingDirScript,
  siblingTempPath,
  usesBecome,
} from './file-scripts.js';
import { writeDestination } from './local-destination.js';
import {
  type ExecStatus,
  type ExtensionKey,
  encodeFilePath,
  KNOWN_EXTENSIONS,
  parseExecAnswer,
  parseStreamEvent,
  readServerFeatures,
  type ServerFeatures,
} from './protocol.js';
import { RestClient, type RestResponse } from './rest-client.js';
import { REST_DATA_META, type RestConnectorData } from './rest-data.js';
import { RestRequestError } from './rest-errors.js';

/** Seconds on top of a command's timeout before the client gives up waiting for the server. */
const EXEC_GRACE_SECONDS = 10;

interface ExecSinks {
  readonly stdout: (chunk: Buffer) => void;
  readonly stderr: (chunk: Buffer) => void;
}

interface ExecRequest {
  readonly command: string;
  /** The command as shown to people (secrets masked), for messages. */
  readonly shown: string;
  readonly timeoutSeconds: number;
  readonly stdin?: Buffer;
  readonly env?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

async function readAll(source: NodeJS.ReadableStream | Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}

async function stdinBytes(stdin: ConnectorArguments['stdin']): Promise<Buffer | undefined> {
  if (stdin === undefined) return undefined;
  if (typeof stdin === 'string') return Buffer.from(stdin, 'utf8');
  if (Buffer.isBuffer(stdin)) return stdin;
  return readAll(stdin);
}

/** Env values as sent (a `MaskString` value is a secret: sent raw, never shown). */
function rawEnv(env: Readonly<Record<string, string | MaskString>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : value.getRawValue(),
    ]),
  );
}

async function sourceBytes(src: FileSource): Promise<Buffer> {
  if (Buffer.isBuffer(src)) return src;
  if (typeof src === 'string') return readFile(src);
  return readAll(src);
}

/** The bytes' base64 JSON size, to check against the server's limit before sending. */
function base64Size(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/**
 * Runs commands and moves files through the infra REST exec protocol
 * (docs/rest-protocol.md), against `infra-agent` or any server that speaks it.
 * `@rest:RESOURCE_ID`, with `api_url` and `api_key` in host data.
 */
export class RestConnector extends BaseConnector<RestConnectorData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = REST_DATA_META;
  static override readonly description =
    'Commands and files through the infra REST exec protocol (infra-agent)';

  static override *makeNamesData(arg: string | undefined): Iterable<NamesData> {
    if (arg === undefined || arg.trim() === '') {
      throw new InventoryError(
        '@rest needs a resource ID: write @rest:RESOURCE_ID (the ID the agent serves, by default its hostname).',
      );
    }
    yield [`@rest:${arg}`, { api_resource_id: arg }, ['@rest']];
  }

  #client: RestClient | undefined;
  #resource: unknown;
  #features: ServerFeatures = { extensions: new Set(), maxBodyBytes: undefined };
  #resourcePath = '';

  /** The resource's JSON as the server answered it at `connect()`. */
  get resource(): unknown {
    return this.#resource;
  }

  /** The extensions the server advertised that this connector uses. */
  get extensions(): ReadonlySet<ExtensionKey> {
    return this.#features.extensions;
  }

  #has(extension: ExtensionKey): boolean {
    return this.#features.extensions.has(extension);
  }

  #resourceId(): string {
    const fromData = this.host.data.api_resource_id;
    if (fromData) return fromData;
    const match = /^@rest[:/](.+)$/.exec(this.host.name);
    if (match) return match[1] as string;
    throw new ConnectError(
      this.host.name,
      'no resource ID: name the host @rest:RESOURCE_ID or set api_resource_id in its data.',
    );
  }

  override async connect(): Promise<void> {
    if (this.#client) return;
    const data = this.host.data;
    const resourceId = this.#resourceId();
    let apiUrl: URL;
    try {
      apiUrl = new URL(data.api_url);
    } catch {
      throw new ConnectError(
        this.host.name,
        `api_url ${JSON.stringify(data.api_url)} is not a URL: expected http(s)://HOST:PORT.`,
      );
    }
    if (apiUrl.protocol !== 'http:' && apiUrl.protocol !== 'https:') {
      throw new ConnectError(
        this.host.name,
        `api_url must start with http:// or https://, got ${apiUrl.protocol}//.`,
      );
    }
    if (apiUrl.username || apiUrl.password) {
      throw new ConnectError(
        this.host.name,
        'api_url must not hold credentials: put the key in api_key.',
      );
    }
    const known = Object.values(KNOWN_EXTENSIONS).map((extension) => extension.name as string);
    const unknown = data.api_disable_extensions.filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new ConnectError(
        this.host.name,
        `api_disable_extensions names ${unknown.map((n) => JSON.stringify(n)).join(', ')}, expected some of ${known.join(', ')}.`,
      );
    }
    if (!(data.api_timeout > 0)) {
      throw new ConnectError(
        this.host.name,
        `api_timeout must be a positive number of seconds, got ${data.api_timeout}.`,
      );
    }
    let ca: Buffer | undefined;
    if (data.api_ca_file !== undefined) {
      try {
        ca = await readFile(data.api_ca_file);
      } catch (error) {
        throw new ConnectError(
          this.host.name,
          `cannot read api_ca_file ${data.api_ca_file} (${(error as NodeJS.ErrnoException).code ?? error}).`,
        );
      }
    }
    if (data.api_insecure_tls && apiUrl.protocol === 'https:') {
      this.host.log.warn(
        `${this.host.name}: api_insecure_tls is set: the agent's certificate is not checked.`,
      );
    }
    const client = new RestClient({
      apiUrl,
      apiKey: data.api_key,
      timeoutSeconds: data.api_timeout,
      ...(ca ? { ca } : {}),
      insecureTls: data.api_insecure_tls,
    });
    const resourcePath = `/resources/${encodeURIComponent(resourceId)}`;
    let resource: unknown;
    try {
      resource = await client.json({
        method: 'GET',
        path: resourcePath,
        retry: true,
        subject: {
          notFound: `resource ${JSON.stringify(resourceId)}`,
          notFoundHint: `Check the ID in @rest:${resourceId} and api_url.`,
        },
      });
    } catch (error) {
      client.close();
      throw new ConnectError(this.host.name, (error as Error).message, { cause: error });
    }
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
      client.close();
      throw new ConnectError(
        this.host.name,
        `GET ${client.urlOf(resourcePath)} answered ${JSON.stringify(resource)?.slice(0, 100)}, expected the resource's JSON object.`,
      );
    }
    this.#client = client;
    this.#resource = resource;
    this.host.hostData.rest_resource = resource;
    this.#resourcePath = resourcePath;
    this.#features = readServerFeatures(resource, data.api_disable_extensions);
    this.host.log.debug(
      `${this.host.name}: connected to ${client.urlOf(resourcePath)}; extensions: ${[...this.#features.extensions].map((key) => KNOWN_EXTENSIONS[key].name).join(', ') || 'none (base protocol)'}`,
    );
  }

  override async disconnect(): Promise<void> {
    this.#client?.close();
    this.#client = undefined;
  }

  #requireClient(): RestClient {
    if (!this.#client) {
      throw new ConnectorStateError(
        `${this.host.name}: call connect() before running commands or moving files.`,
      );
    }
    return this.#client;
  }

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    this.#requireClient();
    if (options.getPty)
      this.host.log.debug(
        `${this.host.name}: getPty is not supported over REST; running without a terminal.`,
      );
    // stdin is read once, so asked-for retries can send it again.
    const stdin = await stdinBytes(options.stdin);
    const args: RunShellCommandOptions = { ...options, ...(stdin ? { stdin } : {}) };
    // Only the retries the caller asked for: a failed or timed-out run, never a lost connection.
    return runWithRetries(command, args, this.host.log, () => this.#run(command, args));
  }

  /** Run through core's builder with sudo-password retry; `rawStdout` keeps stdout's bytes instead of lines. */
  async #run(
    command: CommandInput,
    options: RunShellCommandOptions,
    rawStdout?: Buffer[],
  ): Promise<CommandResult> {
    const stdin = await stdinBytes(options.stdin);
    const args: RunShellCommandOptions = { ...options, ...(stdin ? { stdin } : {}) };
    return runWithSudoRetry(command, args, this.host.sudoPassword, (cmd, retryArgs) =>
      this.#runOnce(cmd, { ...args, ...retryArgs }, rawStdout),
    );
  }

  async #runOnce(
    command: CommandInput,
    options: RunShellCommandOptions,
    rawStdout?: Buffer[],
  ): Promise<CommandResult> {
    const env = options.env && Object.keys(options.env).length > 0 ? options.env : undefined;
    // Out-of-band env keeps values off the command line, but sudo / su / doas would drop it.
    const envOutOfBand = env !== undefined && this.#has('execEnv') && !usesBecome(options);
    const built = makeUnixCommand(command, { ...options, env: envOutOfBand ? undefined : env });
    const shown = String(toStringCommand(command));
    const timeoutSeconds = options.timeout ?? this.host.data.api_timeout;
    // A sudo password goes first on stdin, never in the command the agent runs.
    const stdin = withSudoPasswordStdin(options, options.stdin) as Buffer | undefined;
    if (stdin !== undefined && !this.#has('execStdin')) {
      const what =
        stdin === options.stdin
          ? `stdin to ${shown}`
          : `the sudo password to ${shown} (it goes on stdin, never on the command line)`;
      throw new RestRequestError(
        'REST_BAD_REQUEST',
        `POST ${this.#requireClient().urlOf(`${this.#resourcePath}/exec`)}`,
        `cannot send ${what}: the server does not advertise the exec-stdin extension (the base protocol has no stdin).`,
      );
    }
    const collector = new OutputCollector(options.onOutput);
    if (rawStdout) rawStdout.length = 0;
    const status = await this.#exec(
      {
        command: built.getRawValue(),
        shown,
        timeoutSeconds,
        ...(stdin ? { stdin } : {}),
        ...(envOutOfBand ? { env: rawEnv(env) } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      {
        stdout: rawStdout
          ? (chunk) => rawStdout.push(chunk)
          : (chunk) => collector.stdout.push(chunk),
        stderr: (chunk) => collector.stderr.push(chunk),
      },
    );
    if (status.timedOut) throw new CommandTimeoutError(shown, timeoutSeconds);
    const exitCode = status.signal === null ? status.exitCode : null;
    const output = collector.finish(exitCode, status.signal);
    return { success: isSuccess(exitCode, status.signal, options.successExitCodes), output };
  }

  /** One exec request: streamed (exec-stream) when advertised, else the base JSON answer. Never retried. */
  async #exec(request: ExecRequest, sinks: ExecSinks): Promise<ExecStatus> {
    const client = this.#requireClient();
    const path = `${this.#resourcePath}/exec`;
    const where = `POST ${client.urlOf(path)}`;
    const streamed = this.#has('execStream');
    let response: RestResponse;
    try {
      response = await client.send({
        method: 'POST',
        path,
        json: {
          command: request.command,
          timeout: request.timeoutSeconds,
          ...(request.stdin ? { stdin: request.stdin.toString('base64') } : {}),
          ...(request.env ? { env: request.env } : {}),
        },
        ...(streamed ? { headers: { Accept: 'application/x-ndjson' } } : {}),
        timeoutSeconds: request.timeoutSeconds + EXEC_GRACE_SECONDS,
        ...(request.signal ? { signal: request.signal } : {}),
        subject: { notFound: `resource ${this.#resourcePath.slice('/resources/'.length)}` },
      });
    } catch (error) {
      throw this.#commandError(error, request);
    }
    const bad = (what: string) =>
      new RestRequestError('REST_BAD_RESPONSE', where, `${what} (command: ${request.shown}).`);
    try {
      if (response.contentType === 'application/x-ndjson') {
        for await (const line of response.lines()) {
          const event = parseStreamEvent(line);
          if (typeof event === 'string') throw bad(event);
          if (event.type === 'stdout') sinks.stdout(event.data);
          else if (event.type === 'stderr') sinks.stderr(event.data);
          else if (event.type === 'error')
            throw new RestRequestError(
              'REST_SERVER_ERROR',
              where,
              `the server failed while running ${request.shown}: ${event.message}`,
            );
          else if (event.type === 'exit') {
            response.discard();
            return event;
          }
        }
        throw new RestRequestError(
          'REST_CONNECTION_LOST',
          where,
          `the output stream ended before the command finished (no exit event): the agent may have stopped or crashed; ${request.shown} may have been killed or may still be running.`,
        );
      }
      const answer = parseExecAnswer(await response.json());
      if (typeof answer === 'string') throw bad(answer);
      sinks.stdout(Buffer.from(answer.stdout, 'utf8'));
      sinks.stderr(Buffer.from(answer.stderr, 'utf8'));
      return answer;
    } catch (error) {
      throw this.#commandError(error, request);
    }
  }

  /** Name the command in connection errors: whether it ran is unknown, and it is never retried. */
  #commandError(error: unknown, request: ExecRequest): unknown {
    if (!(error instanceof RestRequestError)) return error;
    if (error.code === 'REST_ABORTED') return request.signal?.reason ?? error;
    if (error.code === 'REST_TIMEOUT')
      return new CommandTimeoutError(request.shown, request.timeoutSeconds);
    if (error.code === 'REST_CONNECTION_LOST' && !error.message.includes(request.shown)) {
      return new RestRequestError(
        error.code,
        error.request,
        `${error.detail} The command (${request.shown}) may or may not have finished; it was not retried.`,
        { cause: error },
      );
    }
    return error;
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    this.#requireClient();
    const failure = `Could not put ${describeFileEnd(src)} to ${this.host.name}:${remotePath}`;
    if (typeof remotePath !== 'string' || !remotePath.startsWith('/')) {
      throw new FileTransferError(`${failure}: the remote path must be absolute (start with "/").`);
    }
    try {
      if (usesBecome(options) || options.mode !== undefined) {
        await this.#installFile(src, remotePath, options);
        return;
      }
      if (options.createParents)
        await this.#checkedRun(sh`mkdir -p ${dirname(remotePath)}`, options, 'mkdir -p');
      await this.#uploadFile(src, remotePath, options.signal);
    } catch (error) {
      throw new FileTransferError(`${failure}: ${(error as Error).message}`, { cause: error });
    }
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    this.#requireClient();
    const failure = `Could not get ${this.host.name}:${remotePath} to ${describeFileEnd(dest)}`;
    if (typeof remotePath !== 'string' || !remotePath.startsWith('/')) {
      throw new FileTransferError(`${failure}: the remote path must be absolute (start with "/").`);
    }
    try {
      if (usesBecome(options)) await this.#getFileByCommand(remotePath, dest, options);
      else await this.#downloadFile(remotePath, dest, options.signal);
    } catch (error) {
      throw new FileTransferError(`${failure}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Run a helper command; a failure becomes an error with its stderr. */
  async #checkedRun(
    command: CommandInput,
    options: RunShellCommandOptions,
    what: string,
    rawStdout?: Buffer[],
  ): Promise<CommandResult> {
    const result = await this.#run(command, options, rawStdout);
    if (!result.success) {
      const as = usesBecome(options)
        ? ` as ${options.sudoUser ?? options.suUser ?? options.doasUser ?? 'root'}`
        : '';
      throw new Error(
        `${what}${as} failed (exit ${result.output.exitCode}): ${result.output.stderr || result.output.stdout}`,
      );
    }
    return result;
  }

  #checkBodySize(bytes: number, what: string): void {
    const limit = this.#features.maxBodyBytes;
    if (limit !== undefined && bytes > limit) {
      throw new Error(
        `${what} would be ${bytes} bytes, over the agent's request limit of ${limit} bytes: raise its --max-body.`,
      );
    }
  }

  /** Straight through the files endpoints, as the agent's user. */
  async #uploadFile(
    src: FileSource,
    remotePath: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const client = this.#requireClient();
    const subject = { notFound: `the directory of ${remotePath}` };
    if (this.#has('filesRaw')) {
      let body: Buffer | Readable;
      let contentLength: number | undefined;
      if (typeof src === 'string') {
        contentLength = (await stat(src)).size;
        body = createReadStream(src);
      } else {
        body = src as Buffer | Readable;
        if (Buffer.isBuffer(src)) contentLength = src.length;
      }
      if (contentLength !== undefined) this.#checkBodySize(contentLength, 'The upload');
      const response = await client.send({
        method: 'PUT',
        path: `${this.#resourcePath}/files/${encodeFilePath(remotePath)}`,
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
    this.#checkBodySize(
      base64Size(content.length) + remotePath.length + 64,
      'The base64 JSON upload',
    );
    const response = await client.send({
      method: 'POST',
      path: `${this.#resourcePath}/files`,
      json: { path: remotePath, content: content.toString('base64'), encoding: 'base64' },
      ...(signal ? { signal } : {}),
      subject,
    });
    response.discard();
  }

  async #downloadFile(
    remotePath: string,
    dest: FileDestination,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const client = this.#requireClient();
    const raw = this.#has('filesRaw');
    const response = await client.send({
      method: 'GET',
      path: `${this.#resourcePath}/files/${encodeFilePath(remotePath)}`,
      headers: { Accept: raw ? 'application/octet-stream' : 'application/json' },
      retry: true,
      ...(signal ? { signal } : {}),
      subject: { notFound: `file ${remotePath}` },
    });
    if (response.contentType === 'application/octet-stream') {
      await writeDestination(dest, response.chunks());
      return;
    }
    const answer = (await response.json()) as { content?: unknown };
    if (typeof answer?.content !== 'string') {
      throw new RestRequestError(
        'REST_BAD_RESPONSE',
        `GET ${client.urlOf(`${this.#resourcePath}/files/${encodeFilePath(remotePath)}`)}`,
        'the answer has no "content" string (base64).',
      );
    }
    await writeDestination(dest, Buffer.from(answer.content, 'base64'));
  }

  /**
   * Put through a command, for become users and modes: the install script runs
   * as the become user, reading the content from stdin (exec-stdin), or, on a
   * base server, from a staged copy uploaded through the files endpoint.
   */
  async #installFile(src: FileSource, remotePath: string, options: FileOptions): Promise<void> {
    const content = await sourceBytes(src);
    const script = {
      destPath: remotePath,
      tempPath: siblingTempPath(remotePath),
      mode: options.mode,
      createParents: options.createParents ?? false,
      size: content.length,
    };
    const runOptions: RunShellCommandOptions = { ...options };
    delete (runOptions as FileOptions).mode;
    delete (runOptions as FileOptions).createParents;
    if (this.#has('execStdin')) {
      this.#checkBodySize(base64Size(content.length) + 4096, 'The command with the file on stdin');
      await this.#checkedRun(
        makeInstallScript(script),
        { ...runOptions, stdin: content },
        'Writing the file',
      );
      return;
    }
    // Base protocol: stage the content where the become user can read it, then copy it in place.
    const agentUser: RunShellCommandOptions = {
      ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const staging = (
      await this.#checkedRun(makeStagingDirScript(), agentUser, 'Making a staging directory')
    ).output.stdout;
    try {
      const staged = `${staging}/${randomBytes(16).toString('hex')}`;
      await this.#uploadFile(content, staged, options.signal);
      await this.#checkedRun(sh`chmod 644 ${staged}`, agentUser, 'Sharing the staged file');
      await this.#checkedRun(
        makeInstallScript({ ...script, sourcePath: staged }),
        runOptions,
        'Writing the file',
      );
    } finally {
      await this.#run(sh`rm -rf ${staging}`, agentUser).catch(() => undefined);
    }
  }

  /** Get through a command as the become user: `cat` over exec-stream, else size + base64. */
  async #getFileByCommand(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions,
  ): Promise<void> {
    const runOptions: RunShellCommandOptions = { ...options };
    if (this.#has('execStream')) {
      const chunks: Buffer[] = [];
      await this.#checkedRun(sh`cat ${remotePath}`, runOptions, 'Reading the file', chunks);
      await writeDestination(dest, Buffer.concat(chunks));
      return;
    }
    const result = await this.#checkedRun(
      makeBase64DumpScript(remotePath),
      runOptions,
      'Reading the file',
    );
    const [sizeLine = '', ...base64Lines] = result.output.stdoutLines;
    const content = Buffer.from(base64Lines.join(''), 'base64');
    if (String(content.length) !== sizeLine.trim()) {
      throw new Error(
        `the file is ${sizeLine.trim()} bytes but ${content.length} arrived: the server cut the output (a base server's output limit?).`,
      );
    }
    await writeDestination(dest, content);
  }
}
