import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { withRetries } from '@infra/connector-utils';
import {
  type CommandResult,
  type Connector,
  type ConnectorArguments,
  makeUnixCommand,
  type StringCommand,
} from '@infra/core';
import { errorCode, errorMessage, OperationError, RunStoppedError } from './errors.js';
import type { RunEvent } from './events.js';
import type { FactDefinition } from './facts/fact.js';
import type { InventoryView } from './inventory-view.js';
import {
  checkArgumentNames,
  connectorArgumentsOf,
  type GlobalArguments,
  type OperationPlan,
  type OperationResult,
  type OperationSpec,
  type OperationStep,
  type PlanContext,
  splitArguments,
} from './operation.js';
import type { RunCoordinator } from './run-coordinator.js';

/** A host as a deploy sees it. */
export interface DeployHost {
  readonly name: string;
  readonly groups: readonly string[];
  /** Host data: deploy defaults < all < groups < host < `--data`. */
  readonly data: Readonly<Record<string, unknown>>;
}

export interface HostSessionOptions {
  /** Plan only: read facts, run nothing that changes the host. */
  readonly dry: boolean;
  readonly diff: boolean;
  readonly phase: 'plan' | 'execute';
  /** Aborted: no new operation, command or transfer starts (Ctrl-C, --fail-percent). */
  readonly signal: AbortSignal;
  /**
   * Aborted: running commands and transfers are killed too. Without it `signal`
   * does both. The runner passes one so a stopped run lets running commands end.
   */
  readonly killSignal?: AbortSignal;
  readonly coordinator: RunCoordinator;
  readonly emit: (event: RunEvent) => void;
  /** Global arguments every operation gets unless it gives its own (the CLI's --sudo, --env, ...). */
  readonly defaultArguments?: GlobalArguments;
  /** Every host of the run, for templates (`it.inventory`). */
  readonly inventory?: InventoryView;
}

function factKey(name: string, args: unknown, become: ConnectorArguments): string {
  return JSON.stringify([name, args, become]);
}

function collectInto(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      done();
    },
  });
}

/**
 * One host during one pass of a run (plan or execute): runs its operations in
 * order through its connector, caches facts until something changes, records
 * every result.
 */
export class HostSession {
  readonly host: DeployHost;
  readonly connector: Connector;
  readonly options: HostSessionOptions;
  readonly results: OperationResult[] = [];
  readonly #facts = new Map<string, Promise<unknown>>();
  #operationIndex = 0;
  /** Operations and fact reads in flight, and who waits for none to be. */
  #busy = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(host: DeployHost, connector: Connector, options: HostSessionOptions) {
    this.host = host;
    this.connector = connector;
    this.options = options;
  }

  get dry(): boolean {
    return this.options.dry;
  }

  /**
   * Resolves once no operation or fact read is in flight (its result recorded):
   * after a kill, what was running has ended and the deploy code may be waiting
   * on something else, which nobody needs to wait for.
   */
  whenIdle(): Promise<void> {
    if (this.#busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#busy++;
    return work.finally(() => {
      if (--this.#busy > 0) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    });
  }

  /** What running commands and transfers are given: they are killed when it aborts. */
  get #kill(): AbortSignal {
    return this.options.killSignal ?? this.options.signal;
  }

  #checkNotStopped(): void {
    if (this.options.signal.aborted) {
      const reason = this.options.signal.reason;
      throw new RunStoppedError(typeof reason === 'string' ? reason : 'the run was stopped');
    }
  }

  /** Run one command; output lines are reported as they arrive. Never throws on an exit code. */
  async runCommand(
    command: StringCommand,
    args: ConnectorArguments,
    operation: string,
    name: string = operation,
    readOnly = false,
  ): Promise<CommandResult> {
    this.#checkNotStopped();
    this.options.emit({
      type: 'command',
      host: this.host.name,
      operation,
      name,
      command: String(makeUnixCommand(command, args)),
    });
    return this.connector.runShellCommand(command, {
      ...args,
      ...(readOnly ? { readOnly } : {}),
      signal: this.#kill,
      onOutput: (line) =>
        this.options.emit({
          type: 'output',
          host: this.host.name,
          operation,
          stream: line.stream,
          line: line.line,
        }),
    });
  }

  /** A fact, read once and cached until an operation changes the host. */
  fact<TArgs, TValue>(
    definition: FactDefinition<TArgs, TValue>,
    args: TArgs,
    become: ConnectorArguments = {},
  ): Promise<TValue> {
    const key = factKey(definition.name, args, become);
    let value = this.#facts.get(key) as Promise<TValue> | undefined;
    if (!value) {
      value = this.#track(this.#readFact(definition, args, become));
      this.#facts.set(key, value);
      value.catch(() => this.#facts.delete(key));
    }
    return value;
  }

  async #readFact<TArgs, TValue>(
    definition: FactDefinition<TArgs, TValue>,
    args: TArgs,
    become: ConnectorArguments,
  ): Promise<TValue> {
    const result = await this.runCommand(
      definition.command(args),
      become,
      `fact ${definition.name}`,
      `fact ${definition.name}`,
      true,
    );
    if (!result.success) {
      throw new OperationError(
        this.host.name,
        `fact ${definition.name}`,
        `its command exited with ${result.output.exitCode ?? result.output.signal}: ${result.output.stderr || result.output.stdout}`.trim(),
      );
    }
    return definition.parse(result.output, args);
  }

  async readFile(path: string, become: ConnectorArguments): Promise<Buffer> {
    this.#checkNotStopped();
    const chunks: Buffer[] = [];
    await this.connector.getFile(path, collectInto(chunks), { ...become, signal: this.#kill });
    return Buffer.concat(chunks);
  }

  async #runStep(step: OperationStep, args: ConnectorArguments, operation: string, name: string) {
    this.#checkNotStopped();
    switch (step.kind) {
      case 'command': {
        const result = await this.runCommand(step.command, args, operation, name);
        return { command: String(step.command), result };
      }
      case 'upload':
        await this.connector.putFile(step.src, step.dest, {
          ...args,
          ...(step.mode === undefined ? {} : { mode: step.mode }),
          createParents: step.createParents ?? false,
          signal: this.#kill,
        });
        return { command: `upload ${step.dest}`, result: undefined };
      case 'download':
        if (step.createParents) await mkdir(dirname(step.dest), { recursive: true });
        await this.connector.getFile(step.src, step.dest, { ...args, signal: this.#kill });
        return { command: `download ${step.src} -> ${step.dest}`, result: undefined };
      case 'function':
        await step.run({
          host: this.host.name,
          connector: this.connector,
          signal: this.#kill,
          runCommand: (command) => this.runCommand(command, args, operation),
        });
        return { command: step.description, result: undefined };
    }
  }

  /**
   * Run one operation: check `_if` / `_runOnce`, read facts to plan it, and (unless
   * dry) carry out its steps with retries. A failure throws `OperationError` unless
   * `_ignoreErrors`; the result is recorded and reported either way.
   */
  async execute<TArgs extends object>(
    spec: OperationSpec<TArgs>,
    args: TArgs & GlobalArguments,
    scope: { readonly hostData?: Readonly<Record<string, unknown>> } = {},
  ): Promise<OperationResult> {
    this.#checkNotStopped();
    const { own, global } = splitArguments<TArgs>({ ...this.options.defaultArguments, ...args });
    checkArgumentNames(spec.name, spec.argNames, own);
    const key = `${this.#operationIndex++}:${spec.name}:${global.name ?? ''}`;
    const base = {
      operation: spec.name,
      name: global.name ?? spec.label(own),
      host: this.host.name,
      dry: this.dry,
    };
    const skip = (because: string): OperationResult =>
      this.#record({
        ...base,
        status: 'skipped',
        changed: false,
        success: true,
        commands: [],
        stdout: '',
        stderr: '',
        skippedBecause: because,
      });

    const condition = typeof global._if === 'function' ? await global._if() : global._if;
    if (condition === false) return skip('_if is false');
    if (global._runOnce && !this.options.coordinator.claimOnce(key)) {
      return skip('_runOnce: ran on another host');
    }
    const limit = global._serial ? 1 : global._parallel;
    return this.#track(
      this.options.coordinator.limit(key, limit, () =>
        this.#planAndRun(spec, own, global, base, scope.hostData ?? this.host.data),
      ),
    );
  }

  async #planAndRun<TArgs>(
    spec: OperationSpec<TArgs>,
    own: TArgs,
    global: GlobalArguments,
    base: Pick<OperationResult, 'operation' | 'name' | 'host' | 'dry'>,
    hostData: Readonly<Record<string, unknown>>,
  ): Promise<OperationResult> {
    const become = connectorArgumentsOf(global);
    const commandArgs: ConnectorArguments = {
      ...become,
      ...(global._successExitCodes ? { successExitCodes: global._successExitCodes } : {}),
    };
    const commands: string[] = [];
    const stdout: string[] = [];
    const stderr: string[] = [];
    let plan: OperationPlan | undefined;
    try {
      const context: PlanContext = {
        host: this.host.name,
        groups: this.host.groups,
        hostData,
        inventory: this.options.inventory ?? { hosts: [], groups: {} },
        dry: this.dry,
        wantDiff: this.options.diff,
        fact: (definition, factArgs) => this.fact(definition, factArgs, become),
        readFile: (path) => this.readFile(path, become),
      };
      plan = await spec.plan(context, own);
      if (plan.steps.length === 0 || this.dry) {
        return this.#record({
          ...base,
          status: plan.steps.length === 0 ? 'no-change' : 'changed',
          changed: plan.steps.length > 0,
          success: true,
          commands: plan.steps.map(describeStep),
          stdout: '',
          stderr: '',
          ...(plan.diff === undefined ? {} : { diff: plan.diff }),
        });
      }
      this.#facts.clear();
      for (const step of plan.steps) {
        // The one retry policy (withRetries): a failed or timed-out step, `_retries` more
        // times, `_retryDelay` seconds apart (pyinfra's defaults: 0 and 5).
        let first = true;
        const { command, result } = await withRetries(
          { retries: global._retries, retryDelay: global._retryDelay, signal: this.options.signal },
          async () => {
            const ran = await this.#runStep(step, commandArgs, spec.name, base.name);
            if (first) commands.push(ran.command);
            first = false;
            if (ran.result) {
              stdout.push(...ran.result.output.stdoutLines);
              stderr.push(...ran.result.output.stderrLines);
            }
            return ran;
          },
          (ran) => ran.result !== undefined && !ran.result.success,
        );
        if (result && !result.success) {
          const { exitCode, signal } = result.output;
          throw new OperationError(
            this.host.name,
            base.name,
            `${command} exited with ${exitCode ?? signal}${result.output.stderr ? `: ${result.output.stderr}` : ''}`,
          );
        }
      }
      this.#facts.clear();
      return this.#record({
        ...base,
        status: 'changed',
        changed: true,
        success: true,
        commands,
        stdout: stdout.join('\n'),
        stderr: stderr.join('\n'),
        ...(plan.diff === undefined ? {} : { diff: plan.diff }),
      });
    } catch (error) {
      this.#facts.clear();
      const failure = this.#kill.aborted
        ? // Killed by a hard stop (a second Ctrl-C, or past the stop grace time): not the host's fault.
          new RunStoppedError(String(this.#kill.reason), { killed: true })
        : error instanceof OperationError || errorCode(error) === 'RUN_STOPPED'
          ? error
          : new OperationError(this.host.name, base.name, errorMessage(error), { cause: error });
      const result = this.#record({
        ...base,
        status: 'error',
        changed: commands.length > 0,
        success: false,
        commands,
        stdout: stdout.join('\n'),
        stderr: stderr.join('\n'),
        error: { code: errorCode(failure), message: errorMessage(failure) },
      });
      if (global._ignoreErrors && errorCode(failure) !== 'RUN_STOPPED') return result;
      throw failure;
    }
  }

  #record(result: OperationResult): OperationResult {
    this.results.push(result);
    this.options.emit({ type: 'operation', phase: this.options.phase, result });
    return result;
  }
}

function describeStep(step: OperationStep): string {
  switch (step.kind) {
    case 'command':
      return String(step.command);
    case 'upload':
      return `upload ${step.dest}`;
    case 'download':
      return `download ${step.src} -> ${step.dest}`;
    case 'function':
      return step.description;
  }
}
