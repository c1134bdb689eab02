import { type Deploy, isDeploy } from './deploy-api.js';
import type { FactDefinition } from './facts/fact.js';
import { createFacts, type Facts } from './facts/index.js';
import type { DeployHost, HostSession } from './host-session.js';
import {
  checkArgumentNames,
  connectorArgumentsOf,
  type GlobalArguments,
  isOperationSpec,
  type OperationResult,
  type OperationSpec,
  splitArguments,
} from './operation.js';
import { createOperations, type Operations } from './operations/index.js';

/** What a deploy function is given for one host. */
export interface DeployContext<TData extends Record<string, unknown> = Record<string, unknown>> {
  readonly host: DeployHost & { readonly data: Readonly<TData> };
  /** The built-in operations by name: `ops.files.put({ src, dest })`. */
  readonly ops: Operations;
  /** The built-in facts by name: `facts.files.file('/etc/hosts')`. */
  readonly facts: Facts;
  /** True in the plan pass and with `--dry`: operations report what they would do. */
  readonly dry: boolean;
  /**
   * Run any operation made with `defineOperation` (from this file, a local module
   * or a package) exactly as built-ins run; or a `deploy(...)` as a group, its
   * operations under the global arguments given here (`_sudo`, `_if`, ...) and
   * its `defaults` under the host's data.
   */
  run<TArgs extends object>(
    operation: OperationSpec<TArgs>,
    args: TArgs & GlobalArguments,
  ): Promise<OperationResult>;
  run<TSubData extends Record<string, unknown>, TArgs>(
    group: Deploy<TSubData, TArgs>,
    args?: TArgs & GlobalArguments,
  ): Promise<void>;
  /** Read any fact made with `defineFact`; cached until an operation changes the host. */
  fact<TArgs, TValue>(definition: FactDefinition<TArgs, TValue>, args: TArgs): Promise<TValue>;
}

/** What a group run with `run(deploy, args)` adds: global arguments and data defaults. */
interface Scope {
  readonly global: GlobalArguments;
  readonly data: Readonly<Record<string, unknown>>;
  /** Put before the name of every operation in the group: `nginx: files.put /etc/nginx.conf`. */
  readonly prefix: string;
}

/** An operation's name in output inside a named group. */
function prefixed<TArgs extends object>(
  prefix: string,
  spec: OperationSpec<TArgs>,
  args: TArgs & GlobalArguments,
): string | undefined {
  if (prefix === '') return args.name;
  let label = args.name;
  if (label === undefined) {
    try {
      label = spec.label(splitArguments(args).own);
    } catch {
      label = spec.name;
    }
  }
  return `${prefix}${label}`;
}

function scopedContext(session: HostSession, scope: Scope): DeployContext {
  const execute = <TArgs extends object>(
    spec: OperationSpec<TArgs>,
    args: TArgs & GlobalArguments,
  ): Promise<OperationResult> => {
    const name = prefixed(scope.prefix, spec, args);
    return session.execute(
      spec,
      { ...scope.global, ...args, ...(name === undefined ? {} : { name }) },
      { hostData: scope.data },
    );
  };
  const readFact = async (definition: FactDefinition<never, unknown>, args: object) => {
    checkArgumentNames(`fact ${definition.name}`, definition.argNames, args, false);
    return session.fact(definition, args as never, connectorArgumentsOf(scope.global));
  };
  const context: DeployContext = {
    host: { ...session.host, data: scope.data },
    ops: createOperations(execute),
    facts: createFacts(readFact),
    dry: session.dry,
    run: ((target: unknown, args: Record<string, unknown> = {}) => {
      if (isOperationSpec(target)) return execute(target as OperationSpec<object>, args);
      if (isDeploy(target)) {
        const { own, global } = splitArguments(args);
        const { name, ...inherited } = global;
        const label = name ?? target.name;
        return target.run(
          scopedContext(session, {
            global: { ...scope.global, ...inherited },
            data: { ...target.defaults, ...scope.data },
            prefix: label ? `${scope.prefix}${label}: ` : scope.prefix,
          }),
          own,
        );
      }
      throw new TypeError(
        `run(operation, args): ${describe(target)} is neither an operation (defineOperation) nor a deploy (deploy()).`,
      );
    }) as DeployContext['run'],
    fact: (definition, args) =>
      readFact(definition as FactDefinition<never, unknown>, (args ?? {}) as object) as never,
  };
  return context;
}

function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'function') return `the function ${value.name || '(anonymous)'}`;
  return typeof value === 'object' ? 'an object' : JSON.stringify(value);
}

/** The context a deploy file's function gets on one host. */
export function deployContext(session: HostSession): DeployContext {
  return scopedContext(session, { global: {}, data: session.host.data, prefix: '' });
}
