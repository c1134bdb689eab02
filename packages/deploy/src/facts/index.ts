import { type MemberOf, type ModuleOf, nameTree } from '../names.js';
import { aptDebFileFact, aptKeysFact, aptSimulateFact, aptSourcesFact } from './apt-repo-facts.js';
import { crontabEntriesFact, crontabLinesFact } from './crontab-facts.js';
import type { FactDefinition } from './fact.js';
import { directoryFact, fileFact } from './file-facts.js';
import { findFact, sha256Fact } from './file-search-facts.js';
import { gitBranchFact, gitCommitFact, gitRemoteCommitFact } from './git-facts.js';
import { initSystemFact, openrcStatusFact, sysvinitStatusFact } from './init-facts.js';
import { npmOutdatedFact, npmPackagesFact } from './npm-facts.js';
import {
  apkPackagesFact,
  apkUpgradableFact,
  aptCacheAgeFact,
  aptPackagesFact,
  aptPolicyFact,
  dnfPackagesFact,
  dnfUpgradableFact,
} from './package-facts.js';
import { pipInstallPlanFact, pipPackagesFact } from './pip-facts.js';
import { commandFact, linuxDistributionFact, listeningPortsFact } from './probe-facts.js';
import { rpmFileFact, rpmKeysFact } from './rpm-file-facts.js';
import {
  archFact,
  groupsFact,
  hostnameFact,
  kernelFact,
  osFact,
  usersFact,
} from './server-facts.js';
import { knownHostFact } from './ssh-facts.js';
import {
  kernelModulesFact,
  localesFact,
  mountsFact,
  sysctlFact,
  sysctlKeysFact,
  timezoneFact,
} from './system-config-facts.js';
import { systemdUnitsFact, whichFact } from './systemd-facts.js';
import { systemdEnabledFact, systemdScopedUnitsFact } from './systemd-scope-facts.js';
import { matchingFact, treeFact } from './tree-facts.js';

/**
 * The built-in facts, made with `defineFact` as any third-party fact is. This
 * list alone gives `facts.module.name(...)` in a deploy, `infra INVENTORY fact
 * module.name k=v` and the reference; a deploy reads any fact, listed or not,
 * with `fact(definition, args)`. To add one: define it in a file here, add it to
 * the list, export it below.
 */
export const BUILTIN_FACTS = [
  osFact,
  archFact,
  hostnameFact,
  kernelFact,
  usersFact,
  groupsFact,
  whichFact,
  fileFact,
  directoryFact,
  aptPackagesFact,
  aptPolicyFact,
  aptCacheAgeFact,
  aptSourcesFact,
  aptKeysFact,
  aptDebFileFact,
  aptSimulateFact,
  crontabEntriesFact,
  crontabLinesFact,
  sysctlFact,
  sysctlKeysFact,
  mountsFact,
  timezoneFact,
  localesFact,
  kernelModulesFact,
  systemdEnabledFact,
  systemdScopedUnitsFact,
  rpmFileFact,
  rpmKeysFact,
  apkPackagesFact,
  apkUpgradableFact,
  dnfPackagesFact,
  dnfUpgradableFact,
  systemdUnitsFact,
  treeFact,
  matchingFact,
  gitBranchFact,
  gitCommitFact,
  gitRemoteCommitFact,
  knownHostFact,
  linuxDistributionFact,
  commandFact,
  listeningPortsFact,
  sha256Fact,
  findFact,
  initSystemFact,
  sysvinitStatusFact,
  openrcStatusFact,
  pipPackagesFact,
  pipInstallPlanFact,
  npmPackagesFact,
  npmOutdatedFact,
] as const;

/** Every built-in fact by its name, for `infra INVENTORY fact NAME`. */
export const FACTS: Readonly<Record<string, FactDefinition<never, unknown>>> = Object.fromEntries(
  BUILTIN_FACTS.map((fact) => [fact.name, fact as FactDefinition<never, unknown>]),
);

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];

/**
 * A fact bound to a host. Its arguments as an object; a fact with one required
 * argument (listed first in `argNames`) also takes its value alone:
 * `facts.files.file('/etc/hosts')`, `facts.git.commit('/srv/app')`.
 */
export type BoundFact<TArgs, TValue> = string extends keyof TArgs
  ? (args?: TArgs) => Promise<TValue>
  : [RequiredKeys<TArgs>] extends [never]
    ? (args?: TArgs) => Promise<TValue>
    : true extends IsUnion<RequiredKeys<TArgs>>
      ? (args: TArgs) => Promise<TValue>
      : (args: TArgs | TArgs[RequiredKeys<TArgs>]) => Promise<TValue>;

/** `{ files: { file: BoundFact<PathArgs, PathInfo | null> }, ... }` from facts named `files.file`, ... */
export type FactTree<TFact> = {
  [M in ModuleOf<TFact>]: {
    [O in MemberOf<TFact, M>]: TFact extends FactDefinition<infer A, infer V, `${M}.${O}`>
      ? BoundFact<A, V>
      : never;
  };
};

/** The facts a deploy reads, bound to its host. Cached until an operation changes something. */
export type Facts = FactTree<(typeof BUILTIN_FACTS)[number]>;

/** A fact's arguments: an object as is; a value alone is its first argument. */
export function factArguments(definition: FactDefinition<never, unknown>, args: unknown): object {
  if (args === undefined || args === null) return {};
  if (typeof args === 'object' && !Array.isArray(args)) return args;
  const [only] = definition.argNames;
  if (only === undefined) {
    throw new TypeError(
      `fact ${definition.name}: give its arguments as an object ({ ${definition.argNames.join(', ')} }), not ${JSON.stringify(args)}.`,
    );
  }
  return { [only]: args };
}

/** The built-in facts bound to one host (through `read`): `facts.files.file('/etc/hosts')`. */
export function createFacts(
  read: (definition: FactDefinition<never, unknown>, args: object) => Promise<unknown>,
): Facts {
  return nameTree('fact', BUILTIN_FACTS as readonly FactDefinition<never, unknown>[], (fact) => {
    return (args?: unknown) => read(fact, factArguments(fact, args));
  }) as unknown as Facts;
}

export * from './apt-repo-facts.js';
export * from './crontab-facts.js';
export { defineFact, type FactDefinition, isFactDefinition } from './fact.js';
export { directoryFact, fileFact, type PathArgs, type PathInfo, parseStat } from './file-facts.js';
export * from './file-search-facts.js';
export {
  type GitCommitArgs,
  type GitRemoteCommitArgs,
  type GitRepoArgs,
  gitBranchFact,
  gitCommitFact,
  gitIn,
  gitRemoteCommitFact,
} from './git-facts.js';
export * from './init-facts.js';
export * from './npm-facts.js';
export {
  APT_UPDATE_STAMP,
  type AptPolicy,
  apkPackagesFact,
  apkUpgradableFact,
  aptCacheAgeFact,
  aptPackagesFact,
  aptPolicyFact,
  dnfPackagesFact,
  dnfUpgradableFact,
  type PackageVersions,
  parseApkInfo,
  parseApkUpgradable,
  parseAptPolicy,
  parseDnfUpgrades,
  parseDpkgQuery,
  parseRpmQuery,
  splitApkId,
} from './package-facts.js';
export * from './pip-facts.js';
export * from './probe-facts.js';
export * from './rpm-file-facts.js';
export {
  archFact,
  type GroupInfo,
  groupsFact,
  hostnameFact,
  kernelFact,
  osFact,
  type UserInfo,
  usersFact,
} from './server-facts.js';
export { type KnownHostArgs, knownHostFact, knownHostName } from './ssh-facts.js';
export * from './system-config-facts.js';
export {
  parseSystemdUnits,
  type SystemdUnit,
  systemdUnitsFact,
  whichFact,
} from './systemd-facts.js';
export * from './systemd-scope-facts.js';
export {
  type MatchingArgs,
  matchingFact,
  parseTree,
  patternBase,
  type TreeArgs,
  type TreeEntry,
  treeFact,
} from './tree-facts.js';
