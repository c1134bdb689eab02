import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { npmOutdatedFact, npmPackagesFact } from '../facts/npm-facts.js';
import { defineOperation } from '../operation.js';
import { commandSteps, flag, listOf } from './attributes.js';

export interface NpmPackagesArgs {
  /** `name`, `name@1.2.3` (pinned), `@scope/name@1.2.3`. */
  packages: string | readonly string[];
  present?: boolean | string;
  /** Upgrade unpinned installed packages to the registry's latest (`npm outdated`). */
  latest?: boolean | string;
  /** A project directory (`npm install` there); global (`-g`) when not given. */
  directory?: string;
}

/** `name@version` -> name and version; a leading `@` is a scope, not a version. */
export function splitNpmSpec(spec: string): { name: string; version: string | undefined } {
  const at = spec.lastIndexOf('@');
  return at > 0
    ? { name: spec.slice(0, at), version: spec.slice(at + 1) }
    : { name: spec, version: undefined };
}

const EXACT = /^\d+\.\d+\.\d+(?:[-+].*)?$/;

/** `npm install|uninstall ...`, globally or in `directory`. */
export function npmCommand(
  action: 'install' | 'uninstall',
  specs: readonly string[],
  directory: string | undefined,
): StringCommand {
  return directory === undefined
    ? sh`npm ${action} -g ${[...specs]}`
    : sh`cd ${directory} && npm ${action} ${[...specs]}`;
}

export const npmPackagesOperation = defineOperation<NpmPackagesArgs, 'npm.packages'>({
  name: 'npm.packages',
  argNames: ['packages', 'present', 'latest', 'directory'],
  description:
    'Install, upgrade (latest) or remove npm packages, globally or in a project directory, by `npm ls` and `npm outdated`.',
  label: (args) =>
    `npm.packages ${listOf(args.packages).join(' ')}${args.directory ? ` in ${args.directory}` : ''}`,
  plan: async (context, args) => {
    const specs = listOf(args.packages).map((spec) => ({ spec, ...splitNpmSpec(spec) }));
    if (specs.length === 0) {
      throw new OperationArgumentError(
        'npm.packages',
        'packages is empty: give at least one package name, e.g. packages: ["pm2@5.4.2"].',
      );
    }
    const directory = args.directory;
    const installed = await context.fact(npmPackagesFact, { directory });
    const has = (name: string) => installed[name]?.[0];
    const commands: StringCommand[] = [];
    if (!flag(args.present, true)) {
      const remove = specs.filter((s) => has(s.name) !== undefined).map((s) => s.name);
      if (remove.length > 0) commands.push(npmCommand('uninstall', remove, directory));
      return { steps: commandSteps(commands) };
    }
    const install = specs
      .filter(
        (s) =>
          has(s.name) === undefined ||
          // An exact version is compared; a range or tag (^1, latest) is npm's to resolve once.
          (s.version !== undefined && EXACT.test(s.version) && has(s.name) !== s.version),
      )
      .map((s) => s.spec);
    const unpinned = specs.filter((s) => s.version === undefined && has(s.name) !== undefined);
    if (flag(args.latest, false) && unpinned.length > 0) {
      const outdated = await context.fact(npmOutdatedFact, { directory });
      for (const s of unpinned) {
        const newer = outdated[s.name];
        if (newer && newer.latest !== has(s.name)) install.push(`${s.name}@${newer.latest}`);
      }
    }
    if (install.length > 0) commands.push(npmCommand('install', install, directory));
    return { steps: commandSteps(commands) };
  },
});
