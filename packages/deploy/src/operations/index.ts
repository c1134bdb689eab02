import { nameTree } from '../names.js';
import type { GlobalArguments, OperationResult, OperationSpec } from '../operation.js';
import { downloadOperation } from './download-operation.js';
import { blockOperation, moveOperation, replaceOperation } from './edit-operations.js';
import {
  directoryOperation,
  fileOperation,
  getOperation,
  lineOperation,
  linkOperation,
  putOperation,
  templateOperation,
} from './files-operations.js';
import { repoOperation } from './git-operations.js';
import {
  apkPackagesOperation,
  aptPackagesOperation,
  dnfPackagesOperation,
} from './package-operations.js';
import { hostnameOperation, scriptOperation, shellOperation } from './server-operations.js';
import { keyscanOperation, userAuthorizedKeysOperation } from './ssh-operations.js';
import { syncOperation } from './sync-operation.js';
import { serviceOperation } from './systemd-operations.js';
import { groupOperation, userOperation } from './user-operations.js';

/**
 * The built-in operations. A built-in is made like any third-party operation,
 * with `defineOperation({ name: 'module.op', argNames: [...], label, plan })`,
 * then listed in BUILTIN_OPERATIONS below: that list alone gives `ops.module.op`
 * in a deploy (typed by the spec's literal name), `infra INVENTORY module.op k=v`
 * and the reference. Nothing else routes an operation: a deploy runs any spec,
 * listed or not, with `run(spec, args)`. To add one: a new file in this folder,
 * `defineOperation<Args, 'module.op'>({...})`, one line in the list, one
 * `export *` at the bottom. Facts work the same way in ../facts/index.ts.
 */
export const BUILTIN_OPERATIONS = [
  shellOperation,
  scriptOperation,
  hostnameOperation,
  userOperation,
  groupOperation,
  putOperation,
  getOperation,
  templateOperation,
  directoryOperation,
  fileOperation,
  linkOperation,
  lineOperation,
  downloadOperation,
  aptPackagesOperation,
  apkPackagesOperation,
  dnfPackagesOperation,
  serviceOperation,
  syncOperation,
  replaceOperation,
  blockOperation,
  moveOperation,
  repoOperation,
  userAuthorizedKeysOperation,
  keyscanOperation,
] as const;

/** Every built-in operation by name, for ad hoc runs (`infra INVENTORY files.put src=a dest=b`). */
export const OPERATIONS: Readonly<Record<string, OperationSpec<never>>> = Object.fromEntries(
  BUILTIN_OPERATIONS.map((spec) => [spec.name, spec as OperationSpec<never>]),
);

/** An operation bound to a host: call it with its arguments and the global ones. */
export type BoundOperation<TArgs> = (args: TArgs & GlobalArguments) => Promise<OperationResult>;

/** `{ files: { put: BoundOperation<PutArgs> }, ... }` from specs named `files.put`, ... */
export type OperationTree<TSpec> = {
  [M in ModuleOf<TSpec>]: {
    [O in MemberOf<TSpec, M>]: TSpec extends OperationSpec<infer A, `${M}.${O}`>
      ? BoundOperation<A>
      : never;
  };
};

type ModuleOf<T> = T extends { readonly name: `${infer M}.${string}` } ? M : never;
type MemberOf<T, M extends string> = T extends { readonly name: `${M}.${infer O}` } ? O : never;

export type Operations = OperationTree<(typeof BUILTIN_OPERATIONS)[number]>;

/** The built-in operations bound to one host (through `run`): `ops.files.put({ src, dest })`. */
export function createOperations(
  run: <TArgs extends object>(
    spec: OperationSpec<TArgs>,
    args: TArgs & GlobalArguments,
  ) => Promise<OperationResult>,
): Operations {
  return nameTree('operation', BUILTIN_OPERATIONS as readonly OperationSpec<object>[], (spec) => {
    const bound: BoundOperation<object> = (args) => run(spec, args ?? {});
    return bound;
  }) as unknown as Operations;
}

export { type ModeInput, parseMode } from './attributes.js';
export * from './download-operation.js';
export * from './edit-operations.js';
export * from './files-operations.js';
export * from './git-operations.js';
export * from './package-operations.js';
export * from './server-operations.js';
export * from './ssh-operations.js';
export * from './sync-operation.js';
export * from './systemd-operations.js';
export * from './user-operations.js';
