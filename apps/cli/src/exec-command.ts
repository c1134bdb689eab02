import {
  type CommandResult,
  type Connector,
  type ConnectorArguments,
  ConnectorResolver,
  type MaskString,
  makeUnixCommand,
  maskHostData,
  QuoteString,
  type SecretPrompt,
  StringCommand,
  SUDO_PASSWORD_FROM_ENV,
  SudoPasswordPrompt,
  type SudoPasswordSource,
} from '@infra/core';
import { mapBounded } from '@infra/deploy/bounded-parallel';
import type { ExecOptions } from './args.js';
import { connectorPackageFor } from './connector-packages.js';
import { EXIT, errorCode, errorMessage, exitCodeForError } from './exit-codes.js';
import { connectorsFor } from './host-connectors.js';
import { type InventoryHost, limitHosts, loadInventory } from './inventory.js';
import type { HostOutcome } from './output-format.js';
import { summarize } from './output-format.js';
import { type CliStreams, Reporter } from './reporter.js';
import { SecretRedactor } from './secret-redactor.js';
import { TerminalPrompt } from './terminal-prompt.js';

export interface ExecRequest {
  readonly inventory: string;
  readonly command: readonly string[];
  readonly options: ExecOptions;
}

export interface ExecContext {
  readonly streams: CliStreams;
  /** Where the user's project is: connectors are resolved from here first. */
  readonly projectDir: string;
  /** The CLI's own install, searched after the project. */
  readonly cliDir: string;
}

/** The user's words after `--`, each quoted on its own: `python3 -c "print('a b')"` stays three words. */
export function quoteCommandWords(words: readonly string[]): StringCommand {
  return new StringCommand(words.map((word) => new QuoteString(word)));
}

/** The connector arguments the flags ask for (only those given). */
export function connectorArguments(options: ExecOptions): ConnectorArguments {
  const args: ConnectorArguments = {};
  if (options.sudo) args.sudo = true;
  if (options.sudoUser !== undefined) args.sudoUser = options.sudoUser;
  if (options.suUser !== undefined) args.suUser = options.suUser;
  if (options.doas) args.doas = true;
  if (options.doasUser !== undefined) args.doasUser = options.doasUser;
  if (options.shellExecutable !== undefined) args.shellExecutable = options.shellExecutable;
  if (options.chdir !== undefined) args.chdir = options.chdir;
  if (Object.keys(options.env).length > 0) args.env = options.env;
  return args;
}

/** One host's outcome from what its command returned. */
export function outcomeOf(host: string, result: CommandResult, interrupted: boolean): HostOutcome {
  const { exitCode, signal } = result.output;
  if (result.success) return { host, status: 'succeeded', exitCode, signal };
  return { host, status: interrupted ? 'interrupted' : 'failed', exitCode, signal };
}

/**
 * The run's one sudo password source, shared by every host, asked with `ask` (the
 * terminal prompt) when INFRA_SUDO_PASSWORD is not set; what it yields is redacted from all output.
 */
export function sharedSudoPassword(
  redactor: SecretRedactor,
  ask: SecretPrompt | undefined,
): SudoPasswordSource {
  const fromEnv = process.env[SUDO_PASSWORD_FROM_ENV];
  if (fromEnv) redactor.add(fromEnv);
  const prompt = new SudoPasswordPrompt(ask === undefined ? {} : { ask });
  return {
    async get(): Promise<MaskString> {
      const password = await prompt.get();
      redactor.add(password.getRawValue());
      return password;
    },
  };
}

export const SIGNAL_EXIT: Readonly<Record<string, number>> = {
  SIGINT: EXIT.interrupted,
  SIGTERM: EXIT.terminated,
};

/**
 * `infra INVENTORY exec -- CMD [ARGS...]`: run one command on every host, at most
 * `--parallel` at once, output streamed with host prefixes, then a summary.
 * Returns the exit code: 0 all succeeded, 1 any failed, 2 bad input, 130 Ctrl-C.
 */
export async function runExec(request: ExecRequest, context: ExecContext): Promise<number> {
  const { options } = request;
  const redactor = new SecretRedactor();
  const reporter = new Reporter(context.streams, options, redactor);

  let hosts: InventoryHost[];
  let instances: Connector[];
  let userCommand: StringCommand;
  let args: ConnectorArguments;
  try {
    const terminal = TerminalPrompt.forProcess();
    const sudoPassword = sharedSudoPassword(redactor, terminal?.ask);
    const resolver = new ConnectorResolver({
      projectDir: context.projectDir,
      fallbackDirs: [context.cliDir],
      packageHint: connectorPackageFor,
    });
    hosts = limitHosts(
      await loadInventory(request.inventory, options.data, resolver, redactor, {
        warn: (message) => reporter.log('warn', undefined, message),
      }),
      options.limit,
    );
    userCommand = quoteCommandWords(request.command);
    args = connectorArguments(options);
    // Check env names, users and quoting once, before any host runs anything.
    makeUnixCommand(userCommand, args);
    if (options.useSudoPassword) args.sudoPassword = await sudoPassword.get();
    instances = connectorsFor(hosts, reporter, sudoPassword, terminal?.ask);
  } catch (error) {
    reporter.fatal({
      code: errorCode(error),
      message: errorMessage(error),
      stack: (error as Error)?.stack,
    });
    return exitCodeForError(error);
  }

  const controller = new AbortController();
  let stoppedBy: string | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy !== undefined) {
      // A second Ctrl-C: stop waiting for hosts to clean up.
      process.exit(SIGNAL_EXIT[signal] ?? EXIT.interrupted);
    }
    stoppedBy = signal;
    reporter.log(
      'warn',
      undefined,
      `${signal}: stopping every host (press Ctrl-C again to quit at once).`,
    );
    controller.abort();
    for (const instance of instances) instance.disconnect().catch(() => {});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const runHost = async (host: InventoryHost, index: number): Promise<HostOutcome> => {
    const instance = instances[index] as Connector;
    const connectorName = host.connector.info.name;
    if (controller.signal.aborted)
      return { host: host.name, status: 'not-started', exitCode: null, signal: null };
    if (options.debug || options.verbosity >= 2) {
      reporter.log(
        'debug',
        host.name,
        `${connectorName} connector (${host.connector.info.packageName}@${host.connector.info.packageVersion}), host data ${JSON.stringify(maskHostData(host.hostData, host.secretKeys))}`,
      );
    }
    try {
      await instance.connect();
    } catch (error) {
      const failure = { code: errorCode(error), message: errorMessage(error) };
      reporter.connectFailed(host.name, connectorName, failure);
      if (controller.signal.aborted)
        return { host: host.name, status: 'interrupted', exitCode: null, signal: null };
      return {
        host: host.name,
        status: 'connect-failed',
        exitCode: null,
        signal: null,
        error: failure,
      };
    }
    reporter.connected(host.name, connectorName);
    try {
      reporter.log('debug', host.name, `command: ${String(makeUnixCommand(userCommand, args))}`);
      const result = await instance.runShellCommand(userCommand, {
        ...args,
        onOutput: (line) => reporter.output(host.name, line),
        signal: controller.signal,
      });
      return outcomeOf(host.name, result, controller.signal.aborted);
    } catch (error) {
      if (controller.signal.aborted)
        return { host: host.name, status: 'interrupted', exitCode: null, signal: null };
      if (options.debug && error instanceof Error && error.stack)
        reporter.log('debug', host.name, error.stack);
      return {
        host: host.name,
        status: 'failed',
        exitCode: null,
        signal: null,
        error: { code: errorCode(error), message: errorMessage(error) },
      };
    } finally {
      await instance.disconnect().catch((error: unknown) => {
        reporter.log('warn', host.name, `disconnect failed: ${errorMessage(error)}`);
      });
    }
  };

  try {
    const outcomes = await mapBounded(hosts, options.parallel, async (host, index) => {
      const outcome = await runHost(host, index);
      reporter.result(outcome);
      return outcome;
    });
    await Promise.allSettled(instances.map((instance) => instance.disconnect()));
    const summary = summarize(outcomes);
    const exitCode =
      stoppedBy !== undefined
        ? (SIGNAL_EXIT[stoppedBy] ?? EXIT.interrupted)
        : summary.failed > 0
          ? EXIT.hostFailed
          : EXIT.ok;
    reporter.summary(summary, exitCode);
    return exitCode;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
