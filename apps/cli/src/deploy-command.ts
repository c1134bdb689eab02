import { createInterface } from 'node:readline/promises';
import type { Connector, ConnectorArguments, MaskString } from '@infra/core';
import { ConnectorResolver } from '@infra/core/resolver';
import {
  deployContext,
  FACTS,
  type GlobalArguments,
  HostSession,
  type HostTask,
  type InventoryHost,
  limitHosts,
  loadDeployFiles,
  loadInventory,
  maskedData,
  OPERATIONS,
  type OperationResult,
  type ResultsRow,
  RunCoordinator,
  type RunEvent,
  type RunHost,
  resultsTable,
  runHosts,
  UnknownNameError,
} from '@infra/deploy';
import type { CliCommand, DeployOptions } from './args.js';
import { connectorPackageFor } from './connector-packages.js';
import {
  connectorArguments,
  type ExecContext,
  hostLogger,
  SIGNAL_EXIT,
  sharedSudoPassword,
} from './exec-command.js';
import { EXIT, errorCode, errorMessage, exitCodeForError } from './exit-codes.js';
import { LiveProgressView, type TerminalSink } from './live-progress.js';
import { colourEnabled, formatOutputLine, paint } from './output-format.js';
import { Reporter } from './reporter.js';
import { SecretRedactor } from './secret-redactor.js';
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

/** The results table as text: operation / hosts / success / changed / no change / error. */
export function formatResultsTable(rows: readonly ResultsRow[]): string {
  const header = ['Operation', 'Hosts', 'Success', 'Changed', 'No change', 'Error'];
  const body = rows.map((row) => [
    row.operation,
    String(row.hosts),
    String(row.success),
    String(row.changed),
    String(row.noChange),
    String(row.error),
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...body.map((cells) => (cells[i] as string).length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) =>
        i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)].join('\n');
}

function describeResult(result: OperationResult): string {
  switch (result.status) {
    case 'changed':
      return result.dry ? 'would change' : 'changed';
    case 'no-change':
      return 'no change';
    case 'skipped':
      return `skipped (${result.skippedBecause ?? 'condition'})`;
    case 'error':
      return `error: ${result.error?.message ?? 'failed'}`;
  }
}

/** Prints a run's events: plain `[host]` lines, or NDJSON with --json. */
class DeployPrinter {
  readonly #options: DeployOptions;
  readonly #reporter: Reporter;
  readonly #colour: boolean;

  constructor(options: DeployOptions, reporter: Reporter, colour: boolean) {
    this.#options = options;
    this.#reporter = reporter;
    this.#colour = colour;
  }

  #line(text: string): void {
    this.#reporter.line(text);
  }

  #host(host: string, text: string, tone?: 'green' | 'yellow' | 'red' | 'dim'): void {
    this.#line(
      `${paint(`[${host}]`, 'cyan', this.#colour)} ${tone ? paint(text, tone, this.#colour) : text}`,
    );
  }

  event(event: RunEvent): void {
    if (this.#reporter.json) {
      this.#reporter.event(event as never);
      return;
    }
    const verbose = this.#options.verbosity >= 1 || this.#options.debug;
    switch (event.type) {
      case 'phase':
        if (event.phase === 'plan')
          this.#line(paint('--> Planning: what would change', 'bold', this.#colour));
        if (event.phase === 'execute')
          this.#line(paint('--> Applying changes', 'bold', this.#colour));
        if (event.phase === 'connect' && verbose) this.#line('--> Connecting');
        return;
      case 'connect':
        if (!event.success)
          this.#host(event.host, `could not connect: ${event.error?.message}`, 'red');
        else if (verbose) this.#host(event.host, 'connected', 'dim');
        return;
      case 'command':
        if (this.#options.debug) this.#host(event.host, `$ ${event.command}`, 'dim');
        return;
      case 'output':
        if (this.#options.verbosity >= 1) {
          this.#line(formatOutputLine(event.host, event.stream, event.line, this.#colour));
        }
        return;
      case 'operation': {
        const { result } = event;
        const quiet = result.status === 'no-change' || result.status === 'skipped';
        if (quiet && !verbose) return;
        const tone =
          result.status === 'error' ? 'red' : result.status === 'changed' ? 'yellow' : 'green';
        this.#host(result.host, `${result.name}: ${describeResult(result)}`, tone);
        if (event.phase === 'plan' && result.changed && verbose) {
          for (const command of result.commands) this.#host(result.host, `  ${command}`, 'dim');
        }
        if (event.phase === 'plan' && this.#options.diff && result.diff) {
          for (const line of result.diff.split('\n')) {
            const lineTone = line.startsWith('+')
              ? 'green'
              : line.startsWith('-')
                ? 'red'
                : undefined;
            this.#host(result.host, `  ${line}`, lineTone);
          }
        }
        return;
      }
      case 'host-failed':
        this.#host(event.host, `failed (${event.phase}): ${event.error.message}`, 'red');
        return;
      case 'stopped':
        this.#reporter.log('warn', undefined, `stopping: ${event.reason}`);
        return;
    }
  }
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
  const printer = new DeployPrinter(
    options,
    reporter,
    !options.json && colourEnabled(context.streams.stdout, context.streams.env),
  );

  let hosts: InventoryHost[];
  let runHostsList: RunHost[];
  let task: HostTask | undefined;
  let defaults: Record<string, unknown> = {};
  let upFrontPassword: MaskString | undefined;
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
      await loadInventory(command.inventory, options.data, resolver, redactor),
      options.limit,
    );
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
    }
    const sudoPassword = sharedSudoPassword(redactor);
    // --use-sudo-password: asked once, before any host connects, and sent with every sudo command.
    if (options.useSudoPassword) upFrontPassword = await sudoPassword.get();
    runHostsList = hosts.map((host) => ({
      name: host.name,
      groups: host.groups,
      hostData: host.hostData,
      connector: new host.connector.connectorClass({
        name: host.name,
        data: host.data,
        hostData: host.hostData,
        log: hostLogger(reporter, host.name),
        sudoPassword,
      }) as Connector,
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
  const live = liveViewFor(command, options, context, runHostsList);
  reporter.setLiveView(live);
  try {
    if (command.kind === 'fact') {
      return await runFact(command, runHostsList, reporter, options, {
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
        : outcome.failedHosts.size > 0 || outcome.ending === 'stopped'
          ? EXIT.hostFailed
          : EXIT.ok;
    if (options.json) {
      reporter.event({ type: 'results', rows } as never);
      reporter.event({
        type: 'summary',
        exitCode,
        ending: outcome.ending,
        failedHosts: [...outcome.failedHosts.keys()],
      } as never);
    } else {
      const endings: Record<typeof outcome.ending, string> = {
        dry: '--dry: nothing was changed.',
        'nothing-to-do': 'Every host is already in state: nothing to do.',
        declined: 'Not applied: nothing was changed.',
        executed: 'Done.',
        stopped: `Stopped${outcome.stopped ? ` (${outcome.stopped})` : ''}: the table shows what ran.`,
      };
      reporter.line('');
      reporter.line(formatResultsTable(rows));
      reporter.line('');
      reporter.line(
        `${endings[outcome.ending]}${outcome.failedHosts.size > 0 ? ` ${outcome.failedHosts.size} of ${runHostsList.length} hosts failed: ${[...outcome.failedHosts.keys()].join(', ')}.` : ''}`,
      );
    }
    return exitCode;
  } finally {
    live?.stop();
    reporter.setLiveView(undefined);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
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

async function runFact(
  command: Extract<DeployCliCommand, { kind: 'fact' }>,
  hosts: readonly RunHost[],
  reporter: Reporter,
  options: DeployOptions,
  run: { args: ConnectorArguments; signal: AbortSignal; killSignal: AbortSignal },
): Promise<number> {
  const { args, ...stop } = run;
  const definition = FACTS[command.fact];
  if (!definition) throw new UnknownNameError('fact', command.fact, Object.keys(FACTS));
  const coordinator = new RunCoordinator();
  const values: Record<string, unknown> = {};
  let failed = 0;
  const { mapBounded } = await import('@infra/deploy');
  await mapBounded(hosts, options.parallel, async (host) => {
    try {
      await host.connector.connect();
      const session = new HostSession(
        { name: host.name, groups: host.groups, data: host.hostData },
        host.connector,
        {
          dry: true,
          diff: false,
          phase: 'plan',
          ...stop,
          coordinator,
          emit: () => {},
        },
      );
      values[host.name] = await session.fact(definition, command.args as never, args);
      if (options.json)
        reporter.event({
          type: 'fact',
          host: host.name,
          fact: command.fact,
          value: values[host.name],
        } as never);
    } catch (error) {
      failed++;
      reporter.fatal({ code: errorCode(error), message: `[${host.name}] ${errorMessage(error)}` });
    } finally {
      await host.connector.disconnect().catch(() => {});
    }
  });
  if (!options.json) reporter.line(JSON.stringify(values, null, 2));
  return failed > 0 ? EXIT.hostFailed : EXIT.ok;
}
