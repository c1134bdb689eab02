import type { StringCommand } from '@infra/core';
import { DeployFileError } from './errors.js';
import { directoryFact, fileFact, type PathInfo } from './facts/file-facts.js';
import { type FindArgs, findFact, sha256Fact } from './facts/file-search-facts.js';
import { type InitSystem, initSystemFact } from './facts/init-facts.js';
import { npmPackagesFact } from './facts/npm-facts.js';
import {
  apkPackagesFact,
  aptPackagesFact,
  dnfPackagesFact,
  type PackageVersions,
} from './facts/package-facts.js';
import { pipPackagesFact } from './facts/pip-facts.js';
import {
  commandFact,
  type LinuxDistribution,
  linuxDistributionFact,
  listeningPortsFact,
} from './facts/probe-facts.js';
import {
  archFact,
  type GroupInfo,
  groupsFact,
  hostnameFact,
  kernelFact,
  osFact,
  type UserInfo,
  usersFact,
} from './facts/server-facts.js';
import { type SystemdUnit, systemdUnitsFact, whichFact } from './facts/systemd-facts.js';
import type { DeployHost, HostSession } from './host-session.js';
import { createOperations, type Operations } from './operations/index.js';

/** The facts a deploy reads, bound to its host. Cached until an operation changes something. */
export interface Facts {
  readonly server: {
    os(): Promise<string>;
    arch(): Promise<string>;
    hostname(): Promise<string>;
    kernel(): Promise<string>;
    users(): Promise<Record<string, UserInfo>>;
    groups(): Promise<Record<string, GroupInfo>>;
    /** Where a command is on the PATH, or null. */
    which(command: string): Promise<string | null>;
    /** From /etc/os-release; null when the host has none. */
    linuxDistribution(): Promise<LinuxDistribution | null>;
    /** A read-only probe: what the command prints (trimmed). Never a change. */
    command(command: string | StringCommand): Promise<string>;
    listeningPorts(): Promise<number[]>;
    initSystem(): Promise<InitSystem | null>;
  };
  readonly files: {
    file(path: string): Promise<PathInfo | null>;
    directory(path: string): Promise<PathInfo | null>;
    sha256(path: string): Promise<string | null>;
    find(path: string, options?: Omit<FindArgs, 'path'>): Promise<string[]>;
  };
  readonly pip: { packages(pip?: string): Promise<PackageVersions> };
  readonly npm: { packages(directory?: string): Promise<PackageVersions> };
  readonly apt: { packages(): Promise<PackageVersions> };
  readonly apk: { packages(): Promise<PackageVersions> };
  readonly dnf: { packages(): Promise<PackageVersions> };
  readonly systemd: { units(): Promise<Record<string, SystemdUnit>> };
}

export function createFacts(session: HostSession): Facts {
  return {
    server: {
      os: () => session.fact(osFact, {}),
      arch: () => session.fact(archFact, {}),
      hostname: () => session.fact(hostnameFact, {}),
      kernel: () => session.fact(kernelFact, {}),
      users: () => session.fact(usersFact, {}),
      groups: () => session.fact(groupsFact, {}),
      which: (command) => session.fact(whichFact, { command }),
      linuxDistribution: () => session.fact(linuxDistributionFact, {}),
      command: (command) => session.fact(commandFact, { command }),
      listeningPorts: () => session.fact(listeningPortsFact, {}),
      initSystem: () => session.fact(initSystemFact, {}),
    },
    files: {
      file: (path) => session.fact(fileFact, { path }),
      directory: (path) => session.fact(directoryFact, { path }),
      sha256: (path) => session.fact(sha256Fact, { path }),
      find: (path, options = {}) => session.fact(findFact, { ...options, path }),
    },
    pip: { packages: (pip = 'pip') => session.fact(pipPackagesFact, { pip }) },
    npm: { packages: (directory) => session.fact(npmPackagesFact, { directory }) },
    apt: { packages: () => session.fact(aptPackagesFact, {}) },
    apk: { packages: () => session.fact(apkPackagesFact, {}) },
    dnf: { packages: () => session.fact(dnfPackagesFact, {}) },
    systemd: { units: () => session.fact(systemdUnitsFact, {}) },
  };
}

/** What a deploy function is given for one host. */
export interface DeployContext<TData extends Record<string, unknown> = Record<string, unknown>> {
  readonly host: DeployHost & { readonly data: Readonly<TData> };
  readonly ops: Operations;
  readonly facts: Facts;
  /** True in the plan pass and with `--dry`: operations report what they would do. */
  readonly dry: boolean;
}

export type DeployFunction<TData extends Record<string, unknown> = Record<string, unknown>> = (
  context: DeployContext<TData>,
) => Promise<void> | void;

const DEPLOY_BRAND = Symbol.for('@infra/deploy.deploy');

export interface Deploy<TData extends Record<string, unknown> = Record<string, unknown>> {
  readonly [DEPLOY_BRAND]: true;
  /** Shown in output; the file name when not given. */
  readonly name: string | undefined;
  /** Data under everything else: deploy defaults < all < groups < host < `--data`. */
  readonly defaults: Readonly<Partial<TData>>;
  readonly run: DeployFunction<TData>;
}

export interface DeployOptions<TData extends Record<string, unknown>> {
  name?: string;
  defaults?: Partial<TData>;
}

/**
 * Declare a deploy: `export default deploy(async ({ host, ops, facts }) => { ... })`,
 * or `deploy({ name, defaults }, fn)`. Operations are awaited in order; each
 * returns its result (changed, outputs) for the next line to use.
 */
export function deploy<TData extends Record<string, unknown> = Record<string, unknown>>(
  fn: DeployFunction<TData>,
): Deploy<TData>;
export function deploy<TData extends Record<string, unknown> = Record<string, unknown>>(
  options: DeployOptions<TData>,
  fn: DeployFunction<TData>,
): Deploy<TData>;
export function deploy<TData extends Record<string, unknown>>(
  first: DeployFunction<TData> | DeployOptions<TData>,
  second?: DeployFunction<TData>,
): Deploy<TData> {
  const options = typeof first === 'function' ? {} : first;
  const run = typeof first === 'function' ? first : second;
  if (typeof run !== 'function') {
    throw new TypeError('deploy(options, fn): fn must be a function ({ host, ops, facts }) => ...');
  }
  return {
    [DEPLOY_BRAND]: true,
    name: options.name,
    defaults: (options.defaults ?? {}) as Partial<TData>,
    run,
  };
}

/** True for what `deploy()` returns (checked by shape: a deploy file may see another copy of this package). */
export function isDeploy(value: unknown): value is Deploy {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[DEPLOY_BRAND] === true &&
    typeof (value as { run?: unknown }).run === 'function'
  );
}

/** A deploy and where it came from. */
export interface LoadedDeploy {
  readonly file: string;
  readonly deploy: Deploy;
}

/**
 * Load deploy files (TypeScript or JavaScript, no build step): each must
 * `export default deploy(...)` (a plain function is accepted too).
 */
export async function loadDeployFiles(files: readonly string[]): Promise<LoadedDeploy[]> {
  const { importUserModule } = await import('./module-loader.js');
  const { resolve } = await import('node:path');
  const loaded: LoadedDeploy[] = [];
  for (const file of files) {
    let module: Record<string, unknown>;
    try {
      module = await importUserModule(resolve(file));
    } catch (error) {
      throw new DeployFileError(
        file,
        `could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const value = module.default;
    if (isDeploy(value)) loaded.push({ file, deploy: value });
    else if (typeof value === 'function') {
      loaded.push({ file, deploy: deploy(value as DeployFunction) });
    } else {
      throw new DeployFileError(
        file,
        'has no default export from deploy(): expected export default deploy(async ({ host, ops, facts }) => { ... }).',
      );
    }
  }
  return loaded;
}

export function deployContext(session: HostSession): DeployContext {
  return {
    host: session.host,
    ops: createOperations(session),
    facts: createFacts(session),
    dry: session.dry,
  };
}
