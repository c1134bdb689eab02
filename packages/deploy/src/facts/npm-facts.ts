import { sh } from '@infra/core';
import { defineFact } from './fact.js';
import type { PackageVersions } from './package-facts.js';

export interface NpmArgs {
  /** A project directory; global packages (`-g`) when not given. */
  readonly directory?: string | undefined;
}

function npmIn(directory: string | undefined, command: ReturnType<typeof sh>) {
  return directory === undefined
    ? sh`${command} -g 2>/dev/null; true`
    : // A directory that does not exist yet has no packages (an earlier operation may create it).
      sh`if cd ${directory} 2>/dev/null; then ${command} 2>/dev/null; fi; true`;
}

function parseJson(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const value = JSON.parse(text) as unknown;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** `npm ls --json --depth=0` output: its top-level dependencies and their versions. */
export function parseNpmList(text: string): PackageVersions {
  const dependencies = parseJson(text).dependencies as
    | Record<string, { version?: string }>
    | undefined;
  const packages: Record<string, string[]> = {};
  for (const [name, info] of Object.entries(dependencies ?? {})) {
    if (info?.version) packages[name] = [info.version];
  }
  return packages;
}

export const npmPackagesFact = defineFact<NpmArgs, PackageVersions, 'npm.packages'>({
  name: 'npm.packages',
  description:
    'npm packages installed globally, or in `directory` (`npm ls --json --depth=0`): name -> [version].',
  argNames: ['directory'],
  command: ({ directory }) => npmIn(directory, sh`npm ls --json --depth=0`),
  parse: (output) => parseNpmList(output.stdout),
});

/** An outdated npm package: what is installed and the registry's latest. */
export interface NpmOutdated {
  readonly current: string | undefined;
  readonly latest: string;
}

export function parseNpmOutdated(text: string): Record<string, NpmOutdated> {
  const outdated: Record<string, NpmOutdated> = {};
  for (const [name, info] of Object.entries(parseJson(text))) {
    const entry = info as { current?: string; latest?: string };
    if (entry.latest) outdated[name] = { current: entry.current, latest: entry.latest };
  }
  return outdated;
}

export const npmOutdatedFact = defineFact<NpmArgs, Record<string, NpmOutdated>, 'npm.outdated'>({
  name: 'npm.outdated',
  description:
    'npm packages (global, or in `directory`) with a newer version in the registry (`npm outdated --json`).',
  argNames: ['directory'],
  command: ({ directory }) => npmIn(directory, sh`npm outdated --json`),
  parse: (output) => parseNpmOutdated(output.stdout),
});
