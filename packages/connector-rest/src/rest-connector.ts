import { randomBytes } from 'node:crypto';
import {
  makeInstallScript,
  type RawCommand,
  type RawCommandIo,
  type RawExit,
  runFileScript,
  TransportConnector,
  tempPathBeside,
  usesBecome,
} from '@infra/connector-utils';
import {
  type CommandInput,
  type CommandResult,
  ConnectorStateError,
  describeFileEnd,
  type FileDestination,
  type FileOptions,
  type FileSource,
  FileTransferError,
  InventoryError,
  type NamesData,
  quote,
  type RunShellCommandOptions,
  sh,
} from '@infra/core';
import { makeBase64DumpScript, makeStagingDirScript } from './file-scripts.js';
import type { ExtensionKey } from './protocol.js';
import { openRestSession, type RestSession } from './rest-connect.js';
import { REST_DATA_META, type RestConnectorData } from './rest-data.js';
import { RestRequestError } from './rest-errors.js';
import { execOnServer } from './rest-exec.js';
import {
  base64Size,
  checkBodySize,
  downloadFile,
  sourceBytes,
  stdinBytes,
  uploadFile,
  writeDestination,
} from './rest-files.js';

/**
 * Runs commands and moves files through the infra REST exec protocol
 * (docs/rest-protocol.md), against `infra-agent` or any server that speaks it.
 * `@rest:RESOURCE_ID`, with `api_url` and `api_key` in host data. Its transport is
 * one exec request per command; the files endpoints move plain files, and
 * `@infra/connector-utils` does the rest (become, sudo retry, retries, abort).
 */
export class RestConnector extends TransportConnector<RestConnectorData> {
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

  #session: RestSession | undefined;

  /** The resource's JSON as the server answered it at `connect()`. */
  get resource(): unknown {
    return this.#session?.resource;
  }

  /** The extensions the server advertised that this connector uses. */
  get extensions(): ReadonlySet<ExtensionKey> {
    return this.#session?.features.extensions ?? new Set();
  }

  #has(extension: ExtensionKey): boolean {
    return this.extensions.has(extension);
  }

  override async connect(): Promise<void> {
    this.#session ??= await openRestSession(this.host);
  }

  override async disconnect(): Promise<void> {
    this.#session?.client.close();
    this.#session = undefined;
  }

  #requireSession(): RestSession {
    if (!this.#session) {
      throw new ConnectorStateError(
        `${this.host.name}: call connect() before running commands or moving files.`,
      );
    }
    return this.#session;
  }

  override async runShellCommand(
    command: CommandInput,
    options: RunShellCommandOptions = {},
  ): Promise<CommandResult> {
    this.#requireSession();
    if (options.getPty) {
      this.host.log.debug(
        `${this.host.name}: getPty is not supported over REST; running without a terminal.`,
      );
    }
    // stdin is read once, so asked-for retries can send it again.
    const stdin = await stdinBytes(options.stdin);
    return super.runShellCommand(command, { ...options, ...(stdin ? { stdin } : {}) });
  }

  /** The transport: one exec request; the agent runs the text with `sh -c`. */
  protected override async runRaw(command: RawCommand, io: RawCommandIo): Promise<RawExit> {
    const session = this.#requireSession();
    const stdin = await stdinBytes(command.stdin);
    const where = `POST ${session.client.urlOf(`${session.resourcePath}/exec`)}`;
    if (stdin !== undefined && !this.#has('execStdin')) {
      throw new RestRequestError(
        'REST_BAD_REQUEST',
        where,
        `cannot send ${command.passwordOnStdin ? 'the sudo password' : 'stdin'} to ${command.shownCommand}${command.passwordOnStdin ? ' (it goes on stdin, never on the command line)' : ''}: the server does not advertise the exec-stdin extension (the base protocol has no stdin).`,
      );
    }
    if (stdin !== undefined) {
      checkBodySize(session, base64Size(stdin.length) + 4096, 'The command with its stdin');
    }
    const text =
      command.shell === 'sh'
        ? command.script
        : `${quote(command.shell)} -c ${quote(command.script)}`;
    return execOnServer(
      session,
      {
        command: text,
        shown: command.shownCommand,
        timeoutSeconds: command.timeout ?? this.host.data.api_timeout,
        stdin,
      },
      io,
    );
  }

  override async putFile(
    src: FileSource,
    remotePath: string,
    options: FileOptions = {},
  ): Promise<void> {
    const session = this.#requireSession();
    const failure = `Could not put ${describeFileEnd(src)} to ${this.host.name}:${remotePath}`;
    if (!remotePath.startsWith('/')) {
      throw new FileTransferError(`${failure}: the remote path must be absolute (start with "/").`);
    }
    if ((usesBecome(options) || options.mode !== undefined) && this.#has('execStdin')) {
      // The shared install script, its bytes on stdin: mode and owner kept, temp removed.
      return super.putFile(src, remotePath, options);
    }
    try {
      if (usesBecome(options) || options.mode !== undefined) {
        await this.#installStaged(session, await sourceBytes(src), remotePath, options);
        return;
      }
      if (options.createParents) {
        await this.#checked(sh`mkdir -p ${remotePath.replace(/\/[^/]*$/, '') || '/'}`, {}, options);
      }
      await uploadFile(session, src, remotePath, options.signal);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new FileTransferError(`${failure}: ${(error as Error).message}`, { cause: error });
    }
  }

  override async getFile(
    remotePath: string,
    dest: FileDestination,
    options: FileOptions = {},
  ): Promise<void> {
    const session = this.#requireSession();
    const failure = `Could not get ${this.host.name}:${remotePath} to ${describeFileEnd(dest)}`;
    if (!remotePath.startsWith('/')) {
      throw new FileTransferError(`${failure}: the remote path must be absolute (start with "/").`);
    }
    if (options.signal?.aborted) throw options.signal.reason;
    // As a become user: `cat` through the shared get when output streams, else size + base64.
    if (usesBecome(options) && this.#has('execStream'))
      return super.getFile(remotePath, dest, options);
    try {
      if (usesBecome(options)) {
        const result = await this.#checked(makeBase64DumpScript(remotePath), options, options);
        const [sizeLine = '', ...base64Lines] = result.output.stdoutLines;
        const content = Buffer.from(base64Lines.join(''), 'base64');
        if (String(content.length) !== sizeLine.trim()) {
          throw new Error(
            `the file is ${sizeLine.trim()} bytes but ${content.length} arrived: the server cut the output (a base server's output limit?).`,
          );
        }
        await writeDestination(dest, content, options.mode);
      } else {
        await downloadFile(session, remotePath, dest, options);
      }
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new FileTransferError(`${failure}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Run a file script as the login or become user; a failure is an error with its stderr. */
  async #checked(
    script: CommandInput,
    become: FileOptions,
    options: FileOptions,
  ): Promise<CommandResult> {
    const result = await runFileScript(this.filesContext, script, {
      ...become,
      timeout: options.timeout,
      signal: options.signal,
    });
    if (!result.success) {
      const as = usesBecome(become)
        ? ` as ${become.sudoUser ?? become.suUser ?? become.doasUser ?? 'root'}`
        : '';
      throw new Error(
        `${String(script).slice(0, 60)}${as} failed (exit ${result.output.exitCode}): ${result.output.stderr || result.output.stdout}`,
      );
    }
    return result;
  }

  /**
   * A base server has no stdin: stage the content where the become user can read it
   * (a 0711 directory of the agent's user), then install it from there.
   */
  async #installStaged(
    session: RestSession,
    content: Buffer,
    remotePath: string,
    options: FileOptions,
  ): Promise<void> {
    const staging = (await this.#checked(makeStagingDirScript(), {}, options)).output.stdout;
    try {
      const staged = `${staging}/${randomBytes(16).toString('hex')}`;
      await uploadFile(session, content, staged, options.signal);
      await this.#checked(sh`chmod 644 ${staged}`, {}, options);
      const script = makeInstallScript({
        destPath: remotePath,
        tempPath: tempPathBeside(remotePath),
        mode: options.mode,
        createParents: options.createParents,
        sourcePath: staged,
        size: content.length,
      });
      await this.#checked(script, options, options);
    } finally {
      await runFileScript(this.filesContext, sh`rm -rf ${staging}`, { timeout: 30 }).catch(
        () => undefined,
      );
    }
  }
}
