/*
 * How operations are registered (built-in and third-party alike):
 * 1. Define it in a file of its own here: `export const fooOperation =
 *    defineOperation<FooArgs, 'module.foo'>({ name: 'module.foo', argNames: [...every
 *    key of FooArgs], description, label, plan })`. The second type argument keeps the
 *    name's literal type, which types `ops.module.foo`.
 * 2. Add it to BUILTIN_OPERATIONS below and `export *` its file at the bottom.
 * That list alone gives `ops.module.foo(...)` in a deploy, `infra INVENTORY module.foo
 * k=v` and the name checks; nothing else routes operations. A deploy runs any spec,
 * listed or not, with `run(spec, args)`. Facts work the same way in ../facts/index.ts
 * (BUILTIN_FACTS, `defineFact<Args, Value, 'module.name'>`).
 */
import { type MemberOf, type ModuleOf, nameTree } from '../names.js';
import type { GlobalArguments, OperationResult, OperationSpec } from '../operation.js';
import { aptKeyOperation, aptRepoOperation } from './apt-key-operations.js';
import {
  aptDebOperation,
  aptDistUpgradeOperation,
  aptUpdateOperation,
  aptUpgradeOperation,
} from './apt-system-operations.js';
import { crontabOperation } from './crontab-operations.js';
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
  openrcServiceOperation,
  serverServiceOperation,
  sysvinitServiceOperation,
} from './init-service-operations.js';
import { npmPackagesOperation } from './npm-operations.js';
import {
  apkPackagesOperation,
  aptPackagesOperation,
  dnfPackagesOperation,
} from './package-operations.js';
import { pipPackagesOperation, venvOperation, virtualenvOperation } from './pip-operations.js';
import { rebootOperation, waitOperation } from './reboot-operations.js';
import {
  dnfRepoOperation,
  dnfRpmOperation,
  yumRepoOperation,
  yumRpmOperation,
} from './rpm-repo-operations.js';
import { scriptTemplateOperation } from './script-template-operation.js';
import {
  localeOperation,
  modprobeOperation,
  mountOperation,
  securityLimitOperation,
  sysctlOperation,
  timezoneOperation,
} from './server-config-operations.js';
import { hostnameOperation, scriptOperation, shellOperation } from './server-operations.js';
import { serverPackagesOperation } from './server-packages-operation.js';
import { keyscanOperation, userAuthorizedKeysOperation } from './ssh-operations.js';
import { syncOperation } from './sync-operation.js';
import { daemonReloadOperation, serviceOperation } from './systemd-operations.js';
import { groupOperation, userOperation } from './user-operations.js';
import { dnfKeyOperation, yumKeyOperation, yumPackagesOperation } from './yum-operations.js';

/** The built-in operations, in the order the reference lists them. */
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
  aptKeyOperation,
  aptRepoOperation,
  aptUpdateOperation,
  aptUpgradeOperation,
  aptDistUpgradeOperation,
  aptDebOperation,
  crontabOperation,
  sysctlOperation,
  modprobeOperation,
  mountOperation,
  timezoneOperation,
  localeOperation,
  securityLimitOperation,
  daemonReloadOperation,
  dnfRepoOperation,
  dnfRpmOperation,
  yumRepoOperation,
  yumRpmOperation,
  dnfKeyOperation,
  yumKeyOperation,
  yumPackagesOperation,
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
  rebootOperation,
  waitOperation,
  scriptTemplateOperation,
  serverPackagesOperation,
  serverServiceOperation,
  openrcServiceOperation,
  sysvinitServiceOperation,
  venvOperation,
  virtualenvOperation,
  pipPackagesOperation,
  npmPackagesOperation,
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

export * from './apt-key-operations.js';
export * from './apt-system-operations.js';
export { type ModeInput, parseMode } from './attributes.js';
export * from './crontab-operations.js';
export * from './download-operation.js';
export * from './edit-operations.js';
export * from './files-operations.js';
export * from './git-operations.js';
export * from './init-service-operations.js';
export * from './npm-operations.js';
export * from './openpgp-keys.js';
export * from './package-operations.js';
export * from './package-operations.js';
export * from './pip-operations.js';
export * from './reboot-operations.js';
export * from './rpm-repo-operations.js';
export * from './script-template-operation.js';
export * from './server-config-operations.js';
export * from './server-operations.js';
export * from './server-packages-operation.js';
export * from './ssh-operations.js';
export * from './sync-operation.js';
export * from './systemd-operations.js';
export { renderTemplate, type TemplateSource } from './template-render.js';
export { planLineEdit, setLine } from './text-lines.js';
export * from './user-operations.js';
export * from './yum-operations.js';
