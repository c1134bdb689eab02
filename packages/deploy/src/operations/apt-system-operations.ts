import { createHash } from 'node:crypto';
import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import {
  type AptSimulatedCommand,
  aptDebFileFact,
  aptSimulateFact,
} from '../facts/apt-repo-facts.js';
import { aptCacheAgeFact, aptPackagesFact } from '../facts/package-facts.js';
import { defineOperation, type OperationStep } from '../operation.js';
import { fetchUrl } from './apt-key-operations.js';
import { commandSteps, flag, integerOf, required } from './attributes.js';
import { APT_GET, aptCommands } from './package-operations.js';

export interface AptUpdateArgs {
  /** Only update when the last update is older than this many seconds (else: always, a change). */
  cacheTime?: number | string;
}

export const aptUpdateOperation = defineOperation<AptUpdateArgs, 'apt.update'>({
  name: 'apt.update',
  argNames: ['cacheTime'],
  description:
    'apt-get update (always a change, as pyinfra), or only when the last one is older than cacheTime seconds.',
  label: () => 'apt.update',
  plan: async (context, args) => {
    const cacheTime = integerOf('apt.update', 'cacheTime', args.cacheTime);
    if (cacheTime !== undefined) {
      const age = await context.fact(aptCacheAgeFact, {});
      if (age !== null && age <= cacheTime) return { steps: [] };
    }
    return {
      steps: commandSteps(
        aptCommands({ update: true, install: [], remove: [], noRecommends: false, purge: false }),
      ),
    };
  },
});

export interface AptUpgradeArgs {
  /** `apt-get autoremove` afterwards (when it has something to remove). */
  autoRemove?: boolean | string;
}

function upgradeOperation<const TName extends string>(name: TName, command: AptSimulatedCommand) {
  return defineOperation<AptUpgradeArgs, TName>({
    name,
    argNames: ['autoRemove'],
    description: `apt-get ${command} when \`apt-get -s ${command}\` says it would change something; autoRemove then runs apt-get autoremove likewise.`,
    label: () => name,
    plan: async (context, args) => {
      const commands: StringCommand[] = [];
      const simulated = await context.fact(aptSimulateFact, { command });
      if (simulated.install.length > 0 || simulated.remove.length > 0) {
        commands.push(sh`${APT_GET} ${command}`);
      }
      if (flag(args.autoRemove, false)) {
        const autoremove = await context.fact(aptSimulateFact, { command: 'autoremove' });
        if (autoremove.remove.length > 0 || commands.length > 0) {
          commands.push(sh`${APT_GET} autoremove`);
        }
      }
      return { steps: commandSteps(commands) };
    },
  });
}

export const aptUpgradeOperation = upgradeOperation('apt.upgrade', 'upgrade');
export const aptDistUpgradeOperation = upgradeOperation('apt.distUpgrade', 'dist-upgrade');

/** Where apt.deb keeps a downloaded .deb on the host, so the next run knows what it holds. */
export const DEB_CACHE = '/var/cache/infra/debs';

export interface AptDebArgs {
  /** An http(s) URL (fetched here, kept in /var/cache/infra/debs on the host) or a .deb path on the host. */
  src: string;
  /** Installed (default) or removed. */
  present?: boolean | string;
}

/** The host path of a downloaded .deb: named after the URL, so each URL is fetched once. */
export function debCachePath(url: string): string {
  const file =
    url
      .replace(/[?#].*$/, '')
      .split('/')
      .pop() ?? '';
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return `${DEB_CACHE}/${hash}-${/^[\w.+~-]+\.deb$/.test(file) ? file : 'package.deb'}`;
}

export const aptDebOperation = defineOperation<AptDebArgs, 'apt.deb'>({
  name: 'apt.deb',
  argNames: ['src', 'present'],
  description:
    'Install (with its dependencies, apt-get install ./file.deb) or remove the package in a .deb from a URL or a path on the host, by its name and version.',
  label: (args) => `apt.deb ${args.src}`,
  plan: async (context, args) => {
    const src = required('apt.deb', 'src', args.src);
    const present = flag(args.present, true);
    const url = /^https?:\/\//i.test(src);
    const path = url ? debCachePath(src) : src;
    const info = await context.fact(aptDebFileFact, { path });
    const steps: OperationStep[] = [];
    if (info === null) {
      if (!url) {
        if (!present) return { steps: [] };
        throw new OperationArgumentError(
          'apt.deb',
          `${src} is not a file on ${context.host}: give a .deb path on the host or an http(s) URL.`,
        );
      }
      steps.push({
        kind: 'upload',
        src: await fetchUrl('apt.deb', src),
        dest: path,
        mode: 0o644,
        createParents: true,
      });
      // What the file holds is known only once it is there: install or remove by what it says.
      steps.push(
        ...commandSteps([
          present
            ? sh`${APT_GET} install ${path}`
            : sh`n=$(dpkg-deb -f ${path} Package) && if dpkg-query -W -f '\${db:Status-Abbrev}' "$n" 2>/dev/null | grep -q '^ii'; then ${APT_GET} remove "$n"; fi`,
        ]),
      );
      return { steps };
    }
    const installed = (await context.fact(aptPackagesFact, {}))[info.name] ?? [];
    if (present && !installed.includes(info.version)) {
      steps.push(...commandSteps([sh`${APT_GET} install ${path}`]));
    } else if (!present && installed.length > 0) {
      steps.push(...commandSteps([sh`${APT_GET} remove ${info.name}`]));
    }
    return { steps };
  },
});
