import { sh } from '@infra/core';
import { defineFact } from './fact.js';

type NoArgs = Record<string, never>;

/** Package names from an array, or from `a,b` text (`infra INVENTORY fact apt.policy packages=a,b`). */
function namesOf(packages: string | readonly string[]): string[] {
  return (typeof packages === 'string' ? packages.split(/[\s,]+/) : [...packages]).filter(
    (name) => name !== '',
  );
}

/** Installed packages: name -> installed versions (usually one; several for multi-arch or kernels). */
export type PackageVersions = Record<string, string[]>;

function addVersion(packages: PackageVersions, name: string, version: string): void {
  const versions = packages[name] ?? [];
  if (!versions.includes(version)) versions.push(version);
  packages[name] = versions;
}

/**
 * Read `dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n'`: only
 * packages whose status is installed (`ii`, `hi`) count; `rc` (removed, config
 * kept) and half-installed ones do not.
 */
export function parseDpkgQuery(lines: readonly string[]): PackageVersions {
  const packages: PackageVersions = {};
  for (const line of lines) {
    const [name, version, status = ''] = line.split('\t');
    if (!name || !version) continue;
    if (!/^[ih]i/.test(status)) continue;
    addVersion(packages, name, version);
  }
  return packages;
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${field} syntax, not JavaScript's.
const DPKG_FORMAT = '${Package}\t${Version}\t${db:Status-Abbrev}\n';

export const aptPackagesFact = defineFact<NoArgs, PackageVersions, 'apt.packages'>({
  name: 'apt.packages',
  description: 'Installed Debian packages (dpkg-query): name -> versions.',
  argNames: [],
  command: () => sh`dpkg-query -W -f ${DPKG_FORMAT}`,
  parse: (output) => parseDpkgQuery(output.stdoutLines),
});

/** What `apt-cache policy NAME...` says per package: installed and candidate versions (null for none). */
export interface AptPolicy {
  readonly installed: string | null;
  readonly candidate: string | null;
}

/** Read `apt-cache policy` output (LC_ALL=C): `name:` lines, then `Installed:` / `Candidate:`. */
export function parseAptPolicy(lines: readonly string[]): Record<string, AptPolicy> {
  const policies: Record<string, AptPolicy> = {};
  let name: string | undefined;
  let installed: string | null = null;
  let candidate: string | null = null;
  const flush = () => {
    if (name !== undefined) policies[name] = { installed, candidate };
  };
  for (const line of lines) {
    const header = /^(\S+):$/.exec(line);
    if (header?.[1]) {
      flush();
      name = header[1];
      installed = null;
      candidate = null;
      continue;
    }
    const field = /^\s+(Installed|Candidate):\s*(\S+)/.exec(line);
    if (field && name !== undefined) {
      const value = field[2] === '(none)' ? null : (field[2] ?? null);
      if (field[1] === 'Installed') installed = value;
      else candidate = value;
    }
  }
  flush();
  return policies;
}

export const aptPolicyFact = defineFact<
  { packages: string | readonly string[] },
  Record<string, AptPolicy>,
  'apt.policy'
>({
  name: 'apt.policy',
  description:
    'Installed and candidate versions of `packages` (apt-cache policy), for `latest: true`.',
  argNames: ['packages'],
  command: ({ packages }) => sh`LC_ALL=C apt-cache policy ${namesOf(packages)}`,
  parse: (output) => parseAptPolicy(output.stdoutLines),
});

/** Seconds since the last successful `apt-get update` (pyinfra's stamp file), or null when never. */
export const APT_UPDATE_STAMP = '/var/lib/apt/periodic/update-success-stamp';

export const aptCacheAgeFact = defineFact<NoArgs, number | null, 'apt.cacheAge'>({
  name: 'apt.cacheAge',
  description: `Seconds since ${APT_UPDATE_STAMP} was touched (the last apt-get update), null when never.`,
  argNames: [],
  command: () =>
    sh`s=${APT_UPDATE_STAMP}; if [ -e "$s" ]; then echo $(( $(date +%s) - $(stat -c %Y -- "$s") )); else echo never; fi`,
  parse: (output) => {
    const text = output.stdout.trim();
    return text === 'never' || text === '' ? null : Number(text);
  },
});

/**
 * Split an apk package id (`name-version-rN`, as `apk info -v` prints them) into
 * name and version: the version is the part after the last `-` that starts a
 * digit run followed by `-r<number>`.
 */
export function splitApkId(id: string): { name: string; version: string } | undefined {
  const match = /^(.+?)-(\d[^-]*-r\d+)$/.exec(id);
  if (!match?.[1] || !match[2]) return undefined;
  return { name: match[1], version: match[2] };
}

export function parseApkInfo(lines: readonly string[]): PackageVersions {
  const packages: PackageVersions = {};
  for (const line of lines) {
    const parts = splitApkId(line.trim());
    if (parts) addVersion(packages, parts.name, parts.version);
  }
  return packages;
}

export const apkPackagesFact = defineFact<NoArgs, PackageVersions, 'apk.packages'>({
  name: 'apk.packages',
  description: 'Installed Alpine packages (apk info -v): name -> versions.',
  argNames: [],
  command: () => sh`apk info -v`,
  parse: (output) => parseApkInfo(output.stdoutLines),
});

/** Read `apk version -l '<'`: `name-1.0-r0 < 1.1-r0` lines -> the names with an upgrade. */
export function parseApkUpgradable(lines: readonly string[]): string[] {
  const names: string[] = [];
  for (const line of lines) {
    const [id, op] = line.trim().split(/\s+/);
    if (op !== '<' || id === undefined) continue;
    const parts = splitApkId(id);
    if (parts) names.push(parts.name);
  }
  return names;
}

export const apkUpgradableFact = defineFact<NoArgs, string[], 'apk.upgradable'>({
  name: 'apk.upgradable',
  description: "Installed Alpine packages with a newer version in the index (apk version -l '<').",
  argNames: [],
  command: () => sh`apk version -l ${'<'}`,
  parse: (output) => parseApkUpgradable(output.stdoutLines),
});

/** Read `rpm -qa --queryformat '%{NAME}\t%{VERSION}-%{RELEASE}\n'`. */
export function parseRpmQuery(lines: readonly string[]): PackageVersions {
  const packages: PackageVersions = {};
  for (const line of lines) {
    const [name, version] = line.split('\t');
    if (!name || !version) continue;
    addVersion(packages, name, version);
  }
  return packages;
}

export const dnfPackagesFact = defineFact<NoArgs, PackageVersions, 'dnf.packages'>({
  name: 'dnf.packages',
  description: 'Installed RPM packages (rpm -qa): name -> versions (version-release).',
  argNames: [],
  command: () => sh`rpm -qa --queryformat ${'%{NAME}\t%{VERSION}-%{RELEASE}\n'}`,
  parse: (output) => parseRpmQuery(output.stdoutLines),
});

/**
 * Read `dnf -q list --upgrades`: `name.arch  version  repo` lines (a heading line
 * "Available Upgrades" is skipped) -> the names with an upgrade.
 */
export function parseDnfUpgrades(lines: readonly string[]): string[] {
  const names: string[] = [];
  for (const line of lines) {
    const [id, version, repo] = line.trim().split(/\s+/);
    if (!id || !version || !repo || !id.includes('.')) continue;
    const name = id.slice(0, id.lastIndexOf('.'));
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

export const dnfUpgradableFact = defineFact<
  { packages: string | readonly string[] },
  string[],
  'dnf.upgradable'
>({
  name: 'dnf.upgradable',
  description:
    'Which of `packages` have a newer version in the repositories (dnf list --upgrades).',
  argNames: ['packages'],
  // dnf exits 1 when none of the names has an upgrade: that is an empty answer.
  command: ({ packages }) => sh`dnf -q list --upgrades ${namesOf(packages)} 2>/dev/null || true`,
  parse: (output) => parseDnfUpgrades(output.stdoutLines),
});
