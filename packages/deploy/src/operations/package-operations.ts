import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import type { FactDefinition } from '../facts/fact.js';
import {
  APT_UPDATE_STAMP,
  apkPackagesFact,
  apkUpgradableFact,
  aptCacheAgeFact,
  aptPackagesFact,
  aptPolicyFact,
  dnfPackagesFact,
  dnfUpgradableFact,
  type PackageVersions,
} from '../facts/package-facts.js';
import { defineOperation, type PlanContext } from '../operation.js';
import { commandSteps, flag, integerOf, listOf } from './attributes.js';

/** The arguments the three package managers share. */
export interface PackagesArgs {
  /** Package names (`hello`, or pinned: apt `hello=2.10-3`, apk `hello=2.10-r0`, dnf `hello-2.10`). */
  packages?: string | readonly string[];
  /** Installed (default) or not. */
  present?: boolean | string;
  /** Also upgrade installed ones that have a newer version. */
  latest?: boolean | string;
  /** Refresh the package index first (`apt-get update`, `apk update`, `dnf makecache`). */
  update?: boolean | string;
}

export interface AptPackagesArgs extends PackagesArgs {
  /** With `update`: only update when the last update is older than this many seconds. */
  cacheTime?: number | string;
  /** `--no-install-recommends` (default false, as apt). */
  noRecommends?: boolean | string;
  /** Remove with `apt-get purge` (configuration too) instead of `remove`. */
  purge?: boolean | string;
}

/** One wanted package: its name and, when pinned, its version. */
interface PackageSpec {
  readonly spec: string;
  readonly name: string;
  readonly version: string | undefined;
}

function specsOf(
  operation: string,
  args: PackagesArgs,
  split: (spec: string) => { name: string; version: string | undefined },
): PackageSpec[] {
  const list = listOf(args.packages);
  if (list.length === 0 && !flag(args.update, false)) {
    throw new OperationArgumentError(
      operation,
      'packages is empty: give at least one package name (or update: true alone).',
    );
  }
  return list.map((spec) => ({ spec, ...split(spec) }));
}

function isInstalled(installed: PackageVersions, spec: PackageSpec): boolean {
  const versions = installed[spec.name];
  if (!versions || versions.length === 0) return false;
  return spec.version === undefined || versions.includes(spec.version);
}

/** The specs to install / upgrade / remove, given what is installed. */
function packageChanges(
  specs: readonly PackageSpec[],
  installed: PackageVersions,
  present: boolean,
): { missing: PackageSpec[]; installedUnpinned: PackageSpec[]; extra: PackageSpec[] } {
  if (!present) {
    return {
      missing: [],
      installedUnpinned: [],
      extra: specs.filter((spec) => (installed[spec.name]?.length ?? 0) > 0),
    };
  }
  return {
    missing: specs.filter((spec) => !isInstalled(installed, spec)),
    installedUnpinned: specs.filter(
      (spec) => spec.version === undefined && isInstalled(installed, spec),
    ),
    extra: [],
  };
}

const APT_GET = sh`DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold`;

/** `apt-get install` / `remove` / `purge` / `update` commands, as the operation sends them. */
export function aptCommands(plan: {
  update: boolean;
  install: readonly string[];
  remove: readonly string[];
  noRecommends: boolean;
  purge: boolean;
}): StringCommand[] {
  const commands: StringCommand[] = [];
  if (plan.update) {
    commands.push(
      sh`DEBIAN_FRONTEND=noninteractive apt-get update && mkdir -p /var/lib/apt/periodic && touch ${APT_UPDATE_STAMP}`,
    );
  }
  if (plan.install.length > 0) {
    const recommends = plan.noRecommends ? sh`--no-install-recommends ` : sh``;
    commands.push(sh`${APT_GET} install ${recommends}${[...plan.install]}`);
  }
  if (plan.remove.length > 0) {
    commands.push(sh`${APT_GET} ${plan.purge ? 'purge' : 'remove'} ${[...plan.remove]}`);
  }
  return commands;
}

export const aptPackagesOperation = defineOperation<AptPackagesArgs, 'apt.packages'>({
  name: 'apt.packages',
  argNames: ['packages', 'present', 'latest', 'update', 'cacheTime', 'noRecommends', 'purge'],
  description:
    'Install, upgrade (latest) or remove Debian packages with apt-get (noninteractive); update the index, optionally only past a cache age.',
  label: (args) => `apt.packages ${listOf(args.packages).join(' ') || '(update)'}`,
  plan: async (context, args) => {
    const specs = specsOf('apt.packages', args, (spec) => {
      const at = spec.indexOf('=');
      return at === -1
        ? { name: spec, version: undefined }
        : { name: spec.slice(0, at), version: spec.slice(at + 1) };
    });
    const cacheTime = integerOf('apt.packages', 'cacheTime', args.cacheTime);
    let update = flag(args.update, false);
    if (update && cacheTime !== undefined) {
      const age = await context.fact(aptCacheAgeFact, {});
      update = age === null || age > cacheTime;
    }
    const present = flag(args.present, true);
    const installed = specs.length > 0 ? await context.fact(aptPackagesFact, {}) : {};
    const { missing, installedUnpinned, extra } = packageChanges(specs, installed, present);
    let upgrades: PackageSpec[] = [];
    if (present && flag(args.latest, false) && installedUnpinned.length > 0) {
      const policy = await context.fact(aptPolicyFact, {
        packages: installedUnpinned.map((s) => s.name),
      });
      upgrades = installedUnpinned.filter((spec) => {
        const p = policy[spec.name];
        return p?.candidate != null && p.candidate !== p.installed;
      });
    }
    return {
      steps: commandSteps(
        aptCommands({
          update,
          install: [...missing, ...upgrades].map((s) => s.spec),
          remove: extra.map((s) => s.name),
          noRecommends: flag(args.noRecommends, false),
          purge: flag(args.purge, false),
        }),
      ),
    };
  },
});

/** apk's `name=1.0-r0`, `name>1.0`, `name~1.0`: the name is what comes before the operator. */
function splitApkSpec(spec: string): { name: string; version: string | undefined } {
  const match = /^([^=<>~]+)(=)?(.*)$/.exec(spec);
  const name = match?.[1] ?? spec;
  // Only an exact `=` pin is compared with what is installed; other constraints are apk's business.
  return { name, version: match?.[2] === '=' && match[3] ? match[3] : undefined };
}

/** What apk and dnf differ in; the rest of their operations is the same. */
interface PackageManager<TName extends string> {
  readonly name: TName;
  readonly description: string;
  readonly splitSpec: (spec: string) => { name: string; version: string | undefined };
  readonly installed: FactDefinition<Record<string, never>, PackageVersions>;
  /** Which of the installed, unpinned `names` have a newer version. */
  readonly upgradable: (context: PlanContext, names: string[]) => Promise<string[]>;
  readonly commands: (plan: PackageCommandsPlan) => StringCommand[];
}

/** What a package operation sends: refresh the index, install, upgrade, remove. */
export interface PackageCommandsPlan {
  readonly update: boolean;
  readonly install: readonly string[];
  readonly upgrade: readonly string[];
  readonly remove: readonly string[];
}

function packagesOperation<const TName extends string>(manager: PackageManager<TName>) {
  return defineOperation<PackagesArgs, TName>({
    name: manager.name,
    argNames: ['packages', 'present', 'latest', 'update'],
    description: manager.description,
    label: (args) => `${manager.name} ${listOf(args.packages).join(' ') || '(update)'}`,
    plan: async (context, args) => {
      const specs = specsOf(manager.name, args, manager.splitSpec);
      const present = flag(args.present, true);
      const installed = specs.length > 0 ? await context.fact(manager.installed, {}) : {};
      const { missing, installedUnpinned, extra } = packageChanges(specs, installed, present);
      let upgrade: string[] = [];
      if (present && flag(args.latest, false) && installedUnpinned.length > 0) {
        const names = installedUnpinned.map((s) => s.name);
        const upgradable = await manager.upgradable(context, names);
        upgrade = names.filter((name) => upgradable.includes(name));
      }
      return {
        steps: commandSteps(
          manager.commands({
            update: flag(args.update, false),
            install: missing.map((s) => s.spec),
            upgrade,
            remove: extra.map((s) => s.name),
          }),
        ),
      };
    },
  });
}

/** `apk update` / `add` / `add --upgrade` / `del`, as the operation sends them. */
export function apkCommands(plan: PackageCommandsPlan): StringCommand[] {
  const commands: StringCommand[] = [];
  if (plan.update) commands.push(sh`apk update`);
  if (plan.install.length > 0) commands.push(sh`apk add ${[...plan.install]}`);
  if (plan.upgrade.length > 0) commands.push(sh`apk add --upgrade ${[...plan.upgrade]}`);
  if (plan.remove.length > 0) commands.push(sh`apk del ${[...plan.remove]}`);
  return commands;
}

export const apkPackagesOperation = packagesOperation({
  name: 'apk.packages',
  description:
    'Install, upgrade (latest) or remove Alpine packages with apk; `update` runs apk update first.',
  splitSpec: splitApkSpec,
  installed: apkPackagesFact,
  upgradable: (context) => context.fact(apkUpgradableFact, {}),
  commands: apkCommands,
});

/**
 * dnf's specs: a plain name, or `name-version[-release]` (checked against what
 * rpm has installed when the part after the name starts with a digit).
 */
function splitDnfSpec(spec: string): { name: string; version: string | undefined } {
  const match = /^(.+?)-(\d[^-]*(?:-[^-]+)?)$/.exec(spec);
  if (!match?.[1] || !match[2]) return { name: spec, version: undefined };
  return { name: match[1], version: match[2] };
}

/** `dnf makecache` / `install` / `upgrade` / `remove`, as the operation sends them. */
export function dnfCommands(plan: PackageCommandsPlan): StringCommand[] {
  const commands: StringCommand[] = [];
  if (plan.update) commands.push(sh`dnf -y makecache`);
  if (plan.install.length > 0) commands.push(sh`dnf -y install ${[...plan.install]}`);
  if (plan.upgrade.length > 0) commands.push(sh`dnf -y upgrade ${[...plan.upgrade]}`);
  if (plan.remove.length > 0) commands.push(sh`dnf -y remove ${[...plan.remove]}`);
  return commands;
}

export const dnfPackagesOperation = packagesOperation({
  name: 'dnf.packages',
  description:
    'Install, upgrade (latest) or remove RPM packages with dnf; `update` runs dnf makecache first.',
  splitSpec: splitDnfSpec,
  installed: dnfPackagesFact,
  upgradable: (context, packages) => context.fact(dnfUpgradableFact, { packages }),
  commands: dnfCommands,
});

export { splitApkSpec, splitDnfSpec };
