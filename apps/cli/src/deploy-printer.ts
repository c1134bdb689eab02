import type { OperationResult, ResultsRow, RunEvent, RunOutcome } from '@infra/deploy';
import type { DeployOptions } from './args.js';
import { formatOutputLine, paint } from './output-format.js';
import type { Reporter } from './reporter.js';

/**
 * The results table as text: operation / hosts / success / changed / no change /
 * skipped / error. After `--dry` nothing changed, so the column says "Would change".
 */
export function formatResultsTable(rows: readonly ResultsRow[], dry = false): string {
  const header = [
    'Operation',
    'Hosts',
    'Success',
    dry ? 'Would change' : 'Changed',
    'No change',
    'Skipped',
    'Error',
  ];
  const body = rows.map((row) => [
    row.operation,
    String(row.hosts),
    String(row.success),
    String(row.changed),
    String(row.noChange),
    String(row.skipped),
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

/** The run's last line: how it ended, and which hosts failed (in inventory order), said once. */
export function endingText(outcome: RunOutcome, hostNames: readonly string[]): string {
  const hostCount = hostNames.length;
  const failed = hostNames.filter((name) => outcome.failedHosts.has(name));
  const failedText =
    failed.length > 0 ? `${failed.length} of ${hostCount} hosts failed: ${failed.join(', ')}.` : '';
  const all = failed.length > 0 && failed.length === hostCount;
  const endings: Record<RunOutcome['ending'], string> = {
    dry: `--dry: nothing was changed.`,
    'nothing-to-do':
      failed.length > 0
        ? `Nothing to change on the other hosts.`
        : 'Every host is already in state: nothing to do.',
    declined: 'Not applied: nothing was changed.',
    executed:
      failed.length === 0
        ? 'Done.'
        : all
          ? 'The table shows what ran.'
          : 'Done on the other hosts.',
    stopped: `Stopped${outcome.stopped ? ` (${outcome.stopped})` : ''}: the table shows what ran.`,
    failed: 'Nothing was applied.',
  };
  const ending = endings[outcome.ending];
  return all || outcome.ending === 'failed'
    ? `${failedText} ${ending}`
    : `${ending} ${failedText}`.trim();
}

function describeResult(result: OperationResult): string {
  switch (result.status) {
    case 'changed':
      return result.dry ? 'would change' : 'changed';
    case 'no-change':
      return 'no change';
    case 'skipped':
      return `skipped (${result.skippedBecause ?? 'condition'})`;
    case 'error': {
      // The line already says the host and the operation: not again from the error's message.
      const message = result.error?.message ?? 'failed';
      const said = `${result.name} failed on ${result.host}: `;
      return `error: ${message.startsWith(said) ? message.slice(said.length) : message}`;
    }
  }
}

/** Prints a run's events: plain `[host]` lines, or NDJSON with --json. */
export class DeployPrinter {
  readonly #options: DeployOptions;
  readonly #reporter: Reporter;
  readonly #colour: boolean;
  readonly #connectors: ReadonlyMap<string, string>;
  /** Failures already printed (`host phase message`): a host's failure is said once. */
  readonly #printed = new Set<string>();

  /** `connectors`: each host's connector name, for the `connect` JSON event. */
  constructor(
    options: DeployOptions,
    reporter: Reporter,
    colour: boolean,
    connectors: ReadonlyMap<string, string>,
  ) {
    this.#options = options;
    this.#reporter = reporter;
    this.#colour = colour;
    this.#connectors = connectors;
  }

  #line(text: string): void {
    this.#reporter.line(text);
  }

  #host(host: string, text: string, tone?: 'green' | 'yellow' | 'red' | 'dim'): void {
    this.#line(
      `${paint(`[${host}]`, 'cyan', this.#colour)} ${tone ? paint(text, tone, this.#colour) : text}`,
    );
  }

  #json(event: RunEvent): void {
    if (event.type === 'connect') {
      const { type, host, ...rest } = event;
      const connector = this.#connectors.get(host);
      this.#reporter.event({ type, host, ...(connector ? { connector } : {}), ...rest } as never);
      return;
    }
    this.#reporter.event(event as never);
  }

  event(event: RunEvent): void {
    if (this.#reporter.json) {
      this.#json(event);
      return;
    }
    const verbose = this.#options.verbosity >= 1 || this.#options.debug;
    const veryVerbose = this.#options.verbosity >= 2 || this.#options.debug;
    switch (event.type) {
      case 'phase':
        if (event.phase === 'plan')
          this.#line(paint('--> Planning: what would change', 'bold', this.#colour));
        if (event.phase === 'execute')
          this.#line(paint('--> Applying changes', 'bold', this.#colour));
        if (event.phase === 'connect' && verbose) this.#line('--> Connecting');
        return;
      case 'connect':
        if (!event.success) {
          this.#printed.add(`${event.host} connect ${event.error?.message}`);
          this.#host(event.host, `could not connect: ${event.error?.message}`, 'red');
        } else if (verbose) this.#host(event.host, 'connected', 'dim');
        return;
      case 'command':
        if (this.#options.debug) this.#host(event.host, `$ ${event.command}`, 'dim');
        return;
      case 'output':
        // What facts read (/etc/passwd, package lists) is noise at -v: shown from -vv.
        if (event.operation.startsWith('fact ') ? veryVerbose : verbose) {
          this.#line(formatOutputLine(event.host, event.stream, event.line, this.#colour));
        }
        return;
      case 'operation': {
        const { result } = event;
        const quiet = result.status === 'no-change' || result.status === 'skipped';
        if (quiet && !verbose) return;
        const tone =
          result.status === 'error' ? 'red' : result.status === 'changed' ? 'yellow' : 'green';
        if (result.status === 'error') {
          this.#printed.add(`${result.host} ${event.phase} ${result.error?.message}`);
        }
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
        if (this.#printed.has(`${event.host} ${event.phase} ${event.error.message}`)) return;
        this.#host(event.host, `failed (${event.phase}): ${event.error.message}`, 'red');
        return;
      case 'stopped':
        this.#reporter.log('warn', undefined, `stopping: ${event.reason}`);
        return;
    }
  }
}
