import { createInterface } from 'node:readline/promises';
import type { Connector, ConnectorArguments, MaskString } from '@infra/core';
import { ConnectorResolver } from '@infra/core';
import {
  deployContext,
  FACTS,
  type FactDefinition,
  failHostOfStrayError,
  type GlobalArguments,
  type HostTask,
  type InventoryHost,
  limitHosts,
  loadDeployFiles,
  loadInventory,
  maskedData,
  OPERATIONS,
  type RunHost,
  resultsTable,
  runHosts,
  UnknownNameError,
  viaChainOf,
} from '@infra/deploy';
import type { CliCommand, DeployOptions } from './args.js';
import { connectorPackageFor } from './connector-packages.js';
import { DeployPrinter, endingText, formatResultsTable } from './deploy-printer.js';
import {
  connectorArguments,
  type ExecContext,
  SIGNAL_EXIT,
  sharedSudoPassword,
} from './exec-command.js';
import { EXIT, errorCode, errorMessage, exitCodeForError } from './exit-codes.js';
import { checkFactArguments } from './fact-arguments.js';
import { runFact } from './fact-command.js';
import { connectorsFor } from './host-connectors.js';
import { LiveProgressView, type TerminalSink } from './live-progress.js';
import { colourEnabled } from './output-format.js';
import { Reporter } from './reporter.js';
import { SecretRedactor } from './secret-redactor.js';
import { TerminalPrompt } from './terminal-prompt.js';
import { UsageError } from './usage-error.js';

export type DeployCliCommand = Extract<
  CliCommand,
  { kind: 'deploy' | 'operation' | 'fact' | 'debug-inventory' }
>;

/** The CLI's become/env/chdir flags, and the sudo password `--use-sudo-password` took up front. */
function runArguments(options: DeployOptions, sudoPassword?: MaskString): ConnectorArguments {
  const args = connectorArguments(options);
  if (sudoPassword !== undefined) args.sudoPassword = sudoPassword;
  return args;
}

/** The CLI's become/env/chdir flags as global operation arguments (`--sudo` -> `_sudo`). */
export function defaultArgumentsFor(
  options: DeployOptions,
  sudoPassword?: MaskString,
): GlobalArguments {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(runArguments(options, sudoPassword))) {
    out[`_${key}`] = value;
  }
  return out as GlobalArguments;
}

async function askToApply(): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question('Apply these changes? [y/N] ');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

function debugInventoryText(hosts: readonly InventoryHost[]): string {
  const groups: Record<string, string[]> = {};
  for (const host of hosts) {
    for (const group of host.groups) {
      groups[group] = [...(groups[group] ?? []), host.name];
    }
  }
  const shown = {
    hosts: Object.fromEntries(
      hosts.map((host) => [
        host.name,
        {
          connector: host.connector.info.name,
          ...(host.via.length > 0 ? { via: host.via } : {}),
          ...(host.runsVia
            ? { chain: [host.name, ...viaChainOf(host.runsVia)].join(' via ') }
            : {}),
          groups: host.groups,
          data: maskedData(host.hostData, host.secretKeys),
        },
      ]),
    ),
    groups,
  };
  return JSON.stringify(shown, null, 2);
}

/**
 * `infra INVENTORY deploy.ts...`, `infra INVENTORY files.put k=v...`,
 * `infra INVENTORY fact NAME k=v...` and `infra INVENTORY debug-inventory`.
 * Returns the exit code: 0 success, 1 a host failed, 2 bad input, 130 Ctrl-C.
 */
export async function runDeployCommand(
  command: DeployCliCommand,
  context: ExecContext,
): Promise<number> {
  const { options } = command;
  const redactor = new SecretRedactor();
  const reporter = new Reporter(context.streams, options, redactor);
  const connectors = new Map<string, string>();
  const printer = new DeployPrinter(
    options,
    reporter,
    !options.json && colourEnabled(context.streams.stdout, context.streams.env),
    connectors,
  );

  let hosts: InventoryHost[];
  let runHostsList: RunHost[];
  let task: HostTask | undefined;
  let defaults: Record<string, unknown> = {};
  let factArgs: Record<string, string> = {};
  let upFrontPassword: MaskString | undefined;
  const terminal = TerminalPrompt.forProcess();
  try {
    const changes = command.kind === 'deploy' || command.kind === 'operation';
    if (changes && !options.yes && !options.dry && process.stdin.isTTY !== true) {
      throw new UsageError(
        'There is no terminal to confirm the changes on, so nothing was run: pass -y (--yes) to apply them without asking, or --dry to only show what would change.',
      );
    }
    const resolver = new ConnectorResolver({
      projectDir: context.projectDir,
      fallbackDirs: [context.cliDir],
      packageHint: connectorPackageFor,
    });
    hosts = limitHosts(
      await loadInventory(command.inventory, options.data, resolver, redactor, {
        warn: (message) => reporter.log('warn', undefined, message),
      }),
      options.limit,
    );
    for (const host of hosts) connectors.set(host.name, host.connector.info.name);
    if (command.kind === 'debug-inventory') {
      reporter.line(debugInventoryText(hosts));
      return EXIT.ok;
    }
    if (command.kind === 'deploy') {
      const loaded = await loadDeployFiles(command.files);
      defaults = Object.assign({}, ...loaded.map((entry) => entry.deploy.defaults));
      task = async (session) => {
        for (const entry of loaded) await entry.deploy.run(deployContext(session));
      };
    } else if (command.kind === 'operation') {
      const spec = OPERATIONS[command.operation];
      if (!spec)
        throw new UnknownNameError('operation', command.operation, Object.keys(OPERATIONS));
      task = async (session) => {
        await session.execute(spec, command.args as never);
      };
    } else if (!FACTS[command.fact]) {
      throw new UnknownNameError('fact', command.fact, Object.keys(FACTS));
    } else {
      factArgs = checkFactArguments(
        FACTS[command.fact] as FactDefinition<never, unknown>,
        command.args,
      );
    }
    const sudoPassword = sharedSudoPassword(redactor, terminal?.ask);
    // --use-sudo-password: asked once, before any host connects, and sent with every sudo command.
    if (options.useSudoPassword) upFrontPassword = await sudoPassword.get();
    const instances = connectorsFor(hosts, reporter, sudoPassword, terminal?.ask);
    runHostsList = hosts.map((host, index) => ({
      name: host.name,
      groups: host.groups,
      hostData: host.hostData,
      connector: instances[index] as Connector,
    }));
  } catch (error) {
    reporter.fatal({
      code: errorCode(error),
      message: errorMessage(error),
      stack: (error as Error)?.stack,
    });
    return exitCodeForError(error);
  }

  // Ctrl-C once: no new operations start, running commands end, every host is
  // disconnected. Twice: running commands are killed too. A third time quits at once.
  const controller = new AbortController();
  const killer = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy === undefined) {
      stoppedBy = signal;
      reporter.log(
        'warn',
        undefined,
        `${signal}: no new operations start; running commands may end, then every host is disconnected (Ctrl-C again kills them).`,
      );
      controller.abort(`${signal} received`);
    } else if (!killer.signal.aborted) {
      reporter.log(
        'warn',
        undefined,
        `${signal} again: killing running commands (once more quits at once).`,
      );
      killer.abort(`${signal} received twice`);
    } else {
      process.exit(SIGNAL_EXIT[signal] ?? EXIT.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // An error that escaped deploy code (a promise nobody awaited, a throw in a
  // timer) fails the host whose code raised it; one that no host's code raised
  // fails the run: every command is killed, every host disconnected, the summary printed.
  let strayError: unknown;
  const onStray = (error: unknown): void => {
    if (failHostOfStrayError(error) !== undefined) return;
    if (strayError !== undefined) return;
    strayError = error;
    reporter.log(
      'warn',
      undefined,
      `an error escaped the deploy code outside any host's work (module code, or a callback infra could not tie to a host): ${errorMessage(error)}; stopping the run and killing running commands.`,
    );
    if (error instanceof Error && error.stack) reporter.log('debug', undefined, error.stack);
    controller.abort('an error escaped the deploy code');
    killer.abort('an error escaped the deploy code');
  };
  // Nothing left that could ever settle what the run waits for (deploy code awaiting
  // a promise nobody resolves, with no timer, command or connection left): Node
  // would exit 13 with no summary. Stop the run instead.
  const onIdle = (): void => {
    if (strayError !== undefined) return;
    strayError = new Error('the deploy code waits for something that can never happen');
    reporter.log(
      'warn',
      undefined,
      'the deploy code waits for a promise nothing can settle any more (no timer, command or connection is left): stopping the run.',
    );
    controller.abort('the deploy code can never finish');
    killer.abort('the deploy code can never finish');
  };
  process.on('unhandledRejection', onStray);
  process.on('uncaughtException', onStray);
  process.on('beforeExit', onIdle);
  const live = liveViewFor(command, options, context, runHostsList);
  reporter.setLiveView(live);
  terminal?.setView(live);
  try {
    if (command.kind === 'fact') {
      return await runFact({ ...command, args: factArgs }, runHostsList, reporter, options, {
        args: runArguments(options, upFrontPassword),
        signal: controller.signal,
        killSignal: killer.signal,
      });
    }
    const outcome = await runHosts({
      hosts: runHostsList,
      task: task as HostTask,
      defaults,
      parallel: options.serial ? 1 : options.parallel,
      failPercent: options.failPercent,
      dry: options.dry,
      diff: options.diff,
      confirm: options.yes
        ? undefined
        : async () => {
            live?.pause();
            try {
              return await askToApply();
            } finally {
              live?.resume();
            }
          },
      signal: controller.signal,
      killSignal: killer.signal,
      onEvent: (event) => {
        live?.update(event);
        printer.event(event);
      },
      defaultArguments: defaultArgumentsFor(options, upFrontPassword),
    });
    live?.stop();
    reporter.setLiveView(undefined);
    const shown = outcome.executed.length > 0 ? outcome.executed : outcome.planned;
    const rows = resultsTable(shown);
    const exitCode =
      stoppedBy !== undefined
        ? (SIGNAL_EXIT[stoppedBy] ?? EXIT.interrupted)
        : outcome.failedHosts.size > 0 || outcome.ending === 'stopped' || strayError !== undefined
          ? EXIT.hostFailed
          : EXIT.ok;
    if (options.json) {
      reporter.event({ type: 'results', rows } as never);
      reporter.event({
        type: 'summary',
        exitCode,
        ending: outcome.ending,
        failedHosts: runHostsList
          .map((host) => host.name)
          .filter((name) => outcome.failedHosts.has(name)),
      } as never);
    } else {
      reporter.line('');
      if (rows.length > 0) {
        reporter.line(formatResultsTable(rows, options.dry));
        reporter.line('');
      }
      reporter.line(
        endingText(
          outcome,
          runHostsList.map((host) => host.name),
        ),
      );
    }
    return exitCode;
  } finally {
    live?.stop();
    reporter.setLiveView(undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('unhandledRejection', onStray);
    process.off('uncaughtException', onStray);
    process.off('beforeExit', onIdle);
  }
}

/**
 * The live progress view, when a deploy or an operation runs with a terminal on
 * stderr (not with --json, a dumb terminal, or CI): otherwise plain lines only.
 */
function liveViewFor(
  command: DeployCliCommand,
  options: DeployOptions,
  context: ExecContext,
  hosts: readonly RunHost[],
): LiveProgressView | undefined {
  const { stderr, env } = context.streams;
  if (command.kind !== 'deploy' && command.kind !== 'operation') return undefined;
  if (options.json || stderr.isTTY !== true || env.TERM === 'dumb' || env.CI) return undefined;
  return new LiveProgressView(
    stderr as TerminalSink,
    hosts.map((host) => host.name),
    colourEnabled(stderr, env),
  );
}
