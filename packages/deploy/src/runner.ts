import { setMaxListeners } from 'node:events';
import type { Connector } from '@infra/core';
import { mapBounded } from './bounded-parallel.js';
import { errorCode, errorMessage } from './errors.js';
import type { ErrorInfo, RunEvent } from './events.js';
import { runHostStep } from './host-scope.js';
import { HostSession } from './host-session.js';
import { inventoryView } from './inventory-view.js';
import type { GlobalArguments, OperationResult } from './operation.js';
import { RunCoordinator } from './run-coordinator.js';

/** A host ready to run: its connector instance (not yet connected) and its data. */
export interface RunHost {
  readonly name: string;
  readonly groups: readonly string[];
  readonly hostData: Readonly<Record<string, unknown>>;
  readonly connector: Connector;
}

/** What every host does in each pass: call operations on the session, in order. */
export type HostTask = (session: HostSession) => Promise<void>;

export interface RunOptions {
  readonly hosts: readonly RunHost[];
  readonly task: HostTask;
  /** Deploy defaults: the lowest layer of host data. */
  readonly defaults?: Readonly<Record<string, unknown>>;
  /** How many hosts at once; all of them when undefined. `--serial` is 1. */
  readonly parallel?: number | undefined;
  /** Stop the whole run once more than this percentage of hosts has failed. */
  readonly failPercent?: number | undefined;
  /** Stop after the plan pass. */
  readonly dry?: boolean;
  /** Compute content diffs for file operations. */
  readonly diff?: boolean;
  /** Asked after the plan pass when something would change; false ends the run. */
  readonly confirm?: (planned: readonly OperationResult[]) => Promise<boolean>;
  /**
   * Abort to stop the run (the CLI does on Ctrl-C): no new operation, command or
   * transfer starts; running commands end (or hit their `_timeout`, or
   * `stopGraceSeconds`); every host is disconnected; the outcome says what ran.
   */
  readonly signal?: AbortSignal;
  /** Abort to kill running commands and transfers at once too (a second Ctrl-C). */
  readonly killSignal?: AbortSignal;
  /** After a stop, running commands get this many seconds before they are killed; unset: no limit. */
  readonly stopGraceSeconds?: number | undefined;
  readonly onEvent?: (event: RunEvent) => void;
  /** Global arguments every operation gets unless it gives its own. */
  readonly defaultArguments?: GlobalArguments;
}

export interface RunOutcome {
  /** What the plan pass found (every operation marked dry). */
  readonly planned: readonly OperationResult[];
  /** What the execute pass did; empty with `dry`, when declined, or when nothing would change. */
  readonly executed: readonly OperationResult[];
  readonly failedHosts: ReadonlyMap<string, ErrorInfo & { readonly phase: string }>;
  /** Why the run stopped early (Ctrl-C, `--fail-percent`), if it did. */
  readonly stopped: string | undefined;
  /**
   * The reached end: 'dry', 'nothing-to-do' (on the hosts that did not fail),
   * 'declined', 'executed', 'stopped', or 'failed' (every host failed to connect
   * or to plan: nothing was applied).
   */
  readonly ending: 'dry' | 'nothing-to-do' | 'declined' | 'executed' | 'stopped' | 'failed';
}

/**
 * Run a task on many hosts as pyinfra does: connect, a dry pass that shows what
 * would change, confirmation, then the real pass. Hosts run in parallel (bounded
 * by `parallel`), operations in order per host; a failed host stops its own
 * operations while the others go on. Every host is disconnected at the end, also
 * when the run is stopped.
 */
export async function runHosts(options: RunOptions): Promise<RunOutcome> {
  const emit = options.onEvent ?? (() => {});
  const controller = new AbortController();
  const onOuterAbort = () => {
    const reason = options.signal?.reason;
    controller.abort(typeof reason === 'string' ? reason : 'interrupted');
  };
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  // Running commands see only this one: a stop lets them end, a kill does not.
  const killer = new AbortController();
  const onKill = () => {
    // A kill is a stop too: nothing new starts, and nothing waits for deploy code.
    if (!controller.signal.aborted) controller.abort(options.killSignal?.reason ?? 'killed');
    killer.abort(options.killSignal?.reason ?? 'killed');
  };
  if (options.killSignal?.aborted) onKill();
  options.killSignal?.addEventListener('abort', onKill, { once: true });
  // Every running command of every host listens on these two: no leak warning at 100 hosts.
  setMaxListeners(0, controller.signal, killer.signal);
  let graceTimer: NodeJS.Timeout | undefined;
  controller.signal.addEventListener(
    'abort',
    () => {
      if (options.stopGraceSeconds === undefined) return;
      graceTimer = setTimeout(
        () =>
          killer.abort(
            `${String(controller.signal.reason)}; killed after ${options.stopGraceSeconds}s`,
          ),
        options.stopGraceSeconds * 1000,
      );
      graceTimer.unref();
    },
    { once: true },
  );

  const failed = new Map<string, ErrorInfo & { phase: string }>();
  const total = options.hosts.length;
  const fail = (host: string, phase: 'connect' | 'plan' | 'execute', error: unknown) => {
    if (errorCode(error) === 'RUN_STOPPED') return;
    const info = { code: errorCode(error), message: errorMessage(error) };
    failed.set(host, { ...info, phase });
    emit({ type: 'host-failed', host, phase, error: info });
    if (
      options.failPercent !== undefined &&
      (failed.size * 100) / total > options.failPercent &&
      !controller.signal.aborted
    ) {
      const reason = `--fail-percent ${options.failPercent} exceeded (${failed.size} of ${total} hosts failed)`;
      emit({ type: 'stopped', reason });
      controller.abort(reason);
    }
  };
  const stoppedReason = (): string | undefined =>
    controller.signal.aborted ? String(controller.signal.reason) : undefined;

  const inventory = inventoryView(options.hosts, options.defaults);
  const pass = async (phase: 'plan' | 'execute'): Promise<OperationResult[]> => {
    emit({ type: 'phase', phase });
    const coordinator = new RunCoordinator();
    const perHost = await mapBounded(options.hosts, options.parallel, async (host) => {
      if (failed.has(host.name) || controller.signal.aborted) return [];
      // A stray error of this host's deploy code stops and kills its work alone.
      const stray = new AbortController();
      const session = new HostSession(
        { name: host.name, groups: host.groups, data: { ...options.defaults, ...host.hostData } },
        host.connector,
        {
          dry: phase === 'plan',
          diff: options.diff ?? false,
          phase,
          signal: AbortSignal.any([controller.signal, stray.signal]),
          killSignal: AbortSignal.any([killer.signal, stray.signal]),
          coordinator,
          emit,
          inventory,
          ...(options.defaultArguments ? { defaultArguments: options.defaultArguments } : {}),
        },
      );
      try {
        await runHostStep(
          host.name,
          () => options.task(session),
          killer.signal,
          (error) => stray.abort(error),
          () => session.whenIdle(),
        );
      } catch (error) {
        fail(host.name, phase, error);
      }
      return session.results;
    });
    return perHost.flat();
  };

  let planned: OperationResult[] = [];
  let executed: OperationResult[] = [];
  let ending: RunOutcome['ending'] = 'stopped';
  try {
    emit({ type: 'phase', phase: 'connect' });
    await mapBounded(options.hosts, options.parallel, async (host) => {
      if (controller.signal.aborted) return;
      try {
        await runHostStep(host.name, () => host.connector.connect(), killer.signal);
        emit({ type: 'connect', host: host.name, success: true });
      } catch (error) {
        emit({
          type: 'connect',
          host: host.name,
          success: false,
          error: { code: errorCode(error), message: errorMessage(error) },
        });
        fail(host.name, 'connect', error);
      }
    });
    const everyHostFailed = () => total > 0 && failed.size === total;
    if (controller.signal.aborted) ending = 'stopped';
    else if (everyHostFailed()) ending = 'failed';
    else {
      planned = await pass('plan');
      // What a host that failed its plan would change is never applied.
      const applicable = planned.filter((result) => !failed.has(result.host));
      if (controller.signal.aborted) ending = 'stopped';
      else if (everyHostFailed()) ending = 'failed';
      else if (options.dry) ending = 'dry';
      else if (!applicable.some((result) => result.changed)) ending = 'nothing-to-do';
      else if (options.confirm && !(await options.confirm(planned))) ending = 'declined';
      else {
        executed = await pass('execute');
        ending = controller.signal.aborted ? 'stopped' : 'executed';
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
    options.killSignal?.removeEventListener('abort', onKill);
    clearTimeout(graceTimer);
    emit({ type: 'phase', phase: 'disconnect' });
    await Promise.allSettled(options.hosts.map((host) => host.connector.disconnect()));
  }
  return { planned, executed, failedHosts: failed, stopped: stoppedReason(), ending };
}

/** One row of the results table: an operation over every host that ran it. */
export interface ResultsRow {
  readonly operation: string;
  readonly hosts: number;
  readonly success: number;
  readonly changed: number;
  readonly noChange: number;
  /** Not run: `_if` was false, or `_runOnce` ran it on another host. */
  readonly skipped: number;
  readonly error: number;
}

/**
 * The results table: one row per operation name. Rows follow the deploy's order:
 * an operation whose name differs per host (`files.line /srv/web1.conf`) gets a
 * row per host, all of them where that line of the deploy stands, not interleaved
 * with the operations after it.
 */
export function resultsTable(results: readonly OperationResult[]): ResultsRow[] {
  const rows = new Map<
    string,
    {
      position: number;
      first: number;
      hosts: Set<string>;
      success: number;
      changed: number;
      noChange: number;
      skipped: number;
      error: number;
    }
  >();
  const positions = new Map<string, number>();
  results.forEach((result, index) => {
    const position = positions.get(result.host) ?? 0;
    positions.set(result.host, position + 1);
    let row = rows.get(result.name);
    if (!row) {
      row = {
        position,
        first: index,
        hosts: new Set(),
        success: 0,
        changed: 0,
        noChange: 0,
        skipped: 0,
        error: 0,
      };
      rows.set(result.name, row);
    }
    row.position = Math.min(row.position, position);
    row.hosts.add(result.host);
    if (result.success) row.success++;
    if (result.status === 'changed') row.changed++;
    if (result.status === 'no-change') row.noChange++;
    if (result.status === 'skipped') row.skipped++;
    if (result.status === 'error') row.error++;
  });
  return [...rows]
    .sort(([, a], [, b]) => a.position - b.position || a.first - b.first)
    .map(([operation, row]) => ({
      operation,
      hosts: row.hosts.size,
      success: row.success,
      changed: row.changed,
      noChange: row.noChange,
      skipped: row.skipped,
      error: row.error,
    }));
}
