import type {
  CommandResult,
  Connector,
  ConnectorArguments,
  FileSource,
  MaskString,
  StringCommand,
} from '@infra/core';
import { closestName } from './closest-name.js';
import { OperationArgumentError } from './errors.js';
import type { FactDefinition } from './facts/fact.js';
import type { InventoryView } from './inventory-view.js';

/**
 * The arguments every operation takes, pyinfra's global arguments: `name` as is,
 * the others with pyinfra's leading underscore, in camelCase (`_sudo`, `_sudoUser`,
 * `_ignoreErrors`, `_runOnce`), so they never collide with an operation's own.
 */
export interface GlobalArguments {
  /** What the operation is called in output; e.g. "Install the nginx config". */
  name?: string;
  _sudo?: boolean;
  _sudoUser?: string;
  _useSudoLogin?: boolean;
  _sudoPassword?: string | MaskString;
  _preserveSudoEnv?: boolean;
  _suUser?: string;
  _useSuLogin?: boolean;
  _preserveSuEnv?: boolean;
  _suShell?: string;
  _doas?: boolean;
  _doasUser?: string;
  _shellExecutable?: string;
  _env?: Readonly<Record<string, string | MaskString>>;
  _chdir?: string;
  /** Seconds before each command is killed. */
  _timeout?: number;
  _successExitCodes?: readonly number[];
  /** A failure is reported, but the host goes on with its next operation. */
  _ignoreErrors?: boolean;
  /** Run a failed command again this many times. */
  _retries?: number;
  /** Seconds between retries. */
  _retryDelay?: number;
  /** Run only when true (or when the function returns true). */
  _if?: boolean | (() => boolean | Promise<boolean>);
  /** Run on the first host that reaches this operation only. */
  _runOnce?: boolean;
  /** Run on one host at a time. */
  _serial?: boolean;
  /** Run on at most this many hosts at a time. */
  _parallel?: number;
}

/** Names of the global arguments that change how commands and file transfers run. */
const CONNECTOR_ARGUMENT_NAMES = [
  'sudo',
  'sudoUser',
  'useSudoLogin',
  'sudoPassword',
  'preserveSudoEnv',
  'suUser',
  'useSuLogin',
  'preserveSuEnv',
  'suShell',
  'doas',
  'doasUser',
  'shellExecutable',
  'env',
  'chdir',
  'timeout',
] as const;

export const GLOBAL_ARGUMENT_NAMES: ReadonlySet<string> = new Set<string>([
  'name',
  ...CONNECTOR_ARGUMENT_NAMES.map((n) => `_${n}`),
  '_successExitCodes',
  '_ignoreErrors',
  '_retries',
  '_retryDelay',
  '_if',
  '_runOnce',
  '_serial',
  '_parallel',
]);

/** Split an operation call's arguments into its own and the global ones. */
export function splitArguments<A extends object>(
  args: A & GlobalArguments,
): { own: A; global: GlobalArguments } {
  const own: Record<string, unknown> = {};
  const global: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args)) {
    if (GLOBAL_ARGUMENT_NAMES.has(key)) global[key] = value;
    else own[key] = value;
  }
  return { own: own as A, global: global as GlobalArguments };
}

/** The connector arguments (become, env, chdir, timeout) the global arguments ask for. */
export function connectorArgumentsOf(global: GlobalArguments): ConnectorArguments {
  const args: Record<string, unknown> = {};
  for (const name of CONNECTOR_ARGUMENT_NAMES) {
    const value = global[`_${name}` as keyof GlobalArguments];
    if (value !== undefined) args[name] = value;
  }
  return args as ConnectorArguments;
}

/** One thing an operation does to a host. */
export type OperationStep =
  | { readonly kind: 'command'; readonly command: StringCommand }
  | {
      readonly kind: 'upload';
      readonly src: FileSource;
      readonly dest: string;
      readonly mode?: number;
      readonly createParents?: boolean;
    }
  | {
      readonly kind: 'download';
      readonly src: string;
      readonly dest: string;
      /** Create the local destination's missing parent folders first. */
      readonly createParents?: boolean;
    }
  | {
      /** Work that is not one command (pyinfra's FunctionCommand): reboot and reconnect, ... */
      readonly kind: 'function';
      /** What it does, shown in output and `--dry` in place of a command. */
      readonly description: string;
      run(context: StepContext): Promise<void>;
    };

/** What a `function` step may use on its host while it runs (never in the plan pass). */
export interface StepContext {
  readonly host: string;
  /** The host's connector: a step may disconnect and connect it again (server.reboot). */
  readonly connector: Connector;
  /** Aborted when the run is stopped: end waits early. */
  readonly signal: AbortSignal;
  /** Run a command with the operation's connector arguments (`_sudo`, ...); never throws on an exit code. */
  runCommand(command: StringCommand): Promise<CommandResult>;
}

/** What an operation found it has to do: no steps means the host is already in state. */
export interface OperationPlan {
  readonly steps: readonly OperationStep[];
  /** The content change, for `--diff`. */
  readonly diff?: string;
}

/** What an operation's `plan` may read from the host. Nothing here changes it. */
export interface PlanContext {
  readonly host: string;
  readonly groups: readonly string[];
  /** The host's data, for templates. */
  readonly hostData: Readonly<Record<string, unknown>>;
  /** Every host of the run with its groups and data (pyinfra's `inventory` in templates). */
  readonly inventory?: InventoryView;
  readonly dry: boolean;
  fact<TArgs, TValue>(definition: FactDefinition<TArgs, TValue>, args: TArgs): Promise<TValue>;
  /** A remote file's bytes (the caller checks it exists first). */
  readFile(path: string): Promise<Buffer>;
  /** Whether `--diff` asked for content changes. */
  readonly wantDiff: boolean;
}

/**
 * An operation: its dotted name (`files.put`, `myapp.release`), the argument names
 * it takes, a one-line label for output, and how it decides what to do. Built-in
 * and third-party operations are the same kind of object: a deploy runs any of
 * them with `run(spec, args)`, the CLI's `ops` lists the built-in ones.
 */
export interface OperationSpec<TArgs, TName extends string = string> {
  readonly name: TName;
  readonly description: string;
  /** Every argument the operation takes (besides the global ones): others are an error that names these. */
  readonly argNames: readonly (keyof TArgs & string)[];
  label(args: TArgs): string;
  plan(context: PlanContext, args: TArgs): Promise<OperationPlan>;
}

/**
 * Define an operation. Annotate `label`'s argument and the argument type and the
 * name's literal type are inferred: `defineOperation({ name: 'app.release',
 * argNames: ['version'], label: (args: ReleaseArgs) => ..., plan: async (context, args) => ... })`.
 */
export function defineOperation<TArgs, const TName extends string = string>(
  spec: OperationSpec<TArgs, TName>,
): OperationSpec<TArgs, TName> {
  if (typeof spec?.name !== 'string' || !/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+$/.test(spec.name)) {
    throw new TypeError(
      `defineOperation: name ${JSON.stringify(spec?.name)} is not a dotted name such as "files.put".`,
    );
  }
  if (!Array.isArray(spec.argNames) || typeof spec.plan !== 'function') {
    throw new TypeError(
      `defineOperation ${spec.name}: expected argNames (an array of argument names), label and plan functions.`,
    );
  }
  return spec;
}

/** True for what `defineOperation` returns (by shape: a package may bring its own copy of @infra/deploy). */
export function isOperationSpec(value: unknown): value is OperationSpec<never> {
  const spec = value as Partial<OperationSpec<never>> | null;
  return (
    typeof spec === 'object' &&
    spec !== null &&
    typeof spec.name === 'string' &&
    Array.isArray(spec.argNames) &&
    typeof spec.plan === 'function' &&
    typeof spec.label === 'function'
  );
}

/** Refuse an argument an operation (or a fact, `globals: false`) does not take, naming the ones it does. */
export function checkArgumentNames(
  operation: string,
  argNames: readonly string[],
  given: object,
  globals = true,
): void {
  for (const key of Object.keys(given)) {
    if (argNames.includes(key)) continue;
    const near = closestName(key, globals ? [...argNames, ...GLOBAL_ARGUMENT_NAMES] : argNames);
    const others = globals
      ? `, or a global argument (${[...GLOBAL_ARGUMENT_NAMES].join(', ')})`
      : '';
    throw new OperationArgumentError(
      operation,
      `it takes no argument ${JSON.stringify(key)}${near ? ` (did you mean ${near}?)` : ''}: expected ${argNames.length > 0 ? argNames.join(', ') : 'no arguments'}${others}.`,
    );
  }
}

export type OperationStatus = 'changed' | 'no-change' | 'error' | 'skipped';

/** What an operation did (or, in the dry pass, would do) on one host. */
export interface OperationResult {
  /** The operation, e.g. `files.put`. */
  readonly operation: string;
  /** Its `name`, or a label made from its arguments. */
  readonly name: string;
  readonly host: string;
  readonly status: OperationStatus;
  /** True when the host was (or, with `dry`, would be) changed. */
  readonly changed: boolean;
  readonly success: boolean;
  /** True when nothing was executed: the plan pass, or `--dry`. */
  readonly dry: boolean;
  /** The commands run (or to be run), secrets masked. */
  readonly commands: readonly string[];
  /** What the commands printed (stdout lines joined). */
  readonly stdout: string;
  readonly stderr: string;
  readonly diff?: string;
  readonly error?: { readonly code: string; readonly message: string };
  /** Why a skipped operation did not run (`_if`, `_runOnce`). */
  readonly skippedBecause?: string;
}
