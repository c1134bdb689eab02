import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, parse, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertConnectorClass, type ConnectorClass } from './connector.js';
import { ConnectorNotFoundError, ConnectorSpecError } from './errors.js';

/** A connector found in an installed package's `infra.connectors` field. */
export interface InstalledConnector {
  readonly name: string;
  readonly packageName: string;
  readonly packageVersion: string;
  readonly packageDir: string;
  /** Absolute path of the module to import. */
  readonly modulePath: string;
  /** The export holding the class: `default` unless the entry says `./file.js#Name`. */
  readonly exportName: string;
  /** Where it was found: the user's project, or the CLI's own install. */
  readonly origin: 'project' | 'cli';
}

export interface LoadedConnector {
  readonly info: InstalledConnector;
  readonly connectorClass: ConnectorClass;
}

export interface ConnectorResolverOptions {
  /** The user's project directory: its node_modules (and their parents') are read first. */
  projectDir: string;
  /** Directories of the CLI's own install, read after the project. */
  fallbackDirs?: readonly string[];
  /** The package that provides a connector name, for the "install it" hint. */
  packageHint?: (connectorName: string) => string | undefined;
}

interface PackageJson {
  name?: string;
  version?: string;
  infra?: { connectors?: Record<string, unknown> };
}

async function readPackageJson(dir: string): Promise<PackageJson | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
}

function nodeModulesChain(start: string): string[] {
  const dirs: string[] = [];
  let dir = resolve(start);
  const { root } = parse(dir);
  for (;;) {
    if (!dir.endsWith(`${sep}node_modules`)) dirs.push(join(dir, 'node_modules'));
    if (dir === root) return dirs;
    dir = dirname(dir);
  }
}

function connectorsOf(
  pkg: PackageJson | undefined,
  packageDir: string,
  origin: InstalledConnector['origin'],
): InstalledConnector[] {
  const entries = pkg?.infra?.connectors;
  if (!pkg || typeof entries !== 'object' || entries === null) return [];
  return Object.entries(entries).flatMap(([name, target]) => {
    if (typeof target !== 'string') return [];
    const [file = '', exportName = 'default'] = target.split('#');
    return [
      {
        name,
        packageName: pkg.name ?? packageDir,
        packageVersion: pkg.version ?? '0.0.0',
        packageDir,
        modulePath: resolve(packageDir, file),
        exportName,
        origin,
      },
    ];
  });
}

/**
 * Finds connectors the way Python finds entry points: every package resolvable
 * from the user's project (then from the CLI's own install) whose package.json
 * has an `infra.connectors` field. Imports only the connectors asked for.
 */
export class ConnectorResolver {
  readonly #options: ConnectorResolverOptions;
  #all: Promise<InstalledConnector[]> | undefined;

  constructor(options: ConnectorResolverOptions) {
    this.#options = options;
  }

  #roots(): { dir: string; origin: InstalledConnector['origin'] }[] {
    return [
      ...nodeModulesChain(this.#options.projectDir).map((dir) => ({
        dir,
        origin: 'project' as const,
      })),
      ...(this.#options.fallbackDirs ?? []).flatMap((start) =>
        nodeModulesChain(start).map((dir) => ({ dir, origin: 'cli' as const })),
      ),
    ];
  }

  /** Every installed connector, the project's first; a name found twice keeps the first. */
  list(): Promise<InstalledConnector[]> {
    this.#all ??= this.#scan();
    return this.#all;
  }

  async #scan(): Promise<InstalledConnector[]> {
    const found: InstalledConnector[] = [];
    const seenDirs = new Set<string>();
    const own = resolve(this.#options.projectDir);
    found.push(...connectorsOf(await readPackageJson(own), own, 'project'));
    for (const { dir, origin } of this.#roots()) {
      if (seenDirs.has(dir)) continue;
      seenDirs.add(dir);
      const packageDirs = await listPackageDirs(dir);
      const manifests = await Promise.all(packageDirs.map(readPackageJson));
      packageDirs.forEach((packageDir, i) => {
        found.push(...connectorsOf(manifests[i], packageDir, origin));
      });
    }
    const byName = new Map<string, InstalledConnector>();
    for (const connector of found)
      if (!byName.has(connector.name)) byName.set(connector.name, connector);
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The connector named `name`, looking first where convention puts it (fast), then everywhere. */
  async find(name: string): Promise<InstalledConnector | undefined> {
    if (!this.#all) {
      const conventional = [`@infra/connector-${name}`, `infra-connector-${name}`];
      const hint = this.#options.packageHint?.(name);
      if (hint) conventional.unshift(hint);
      for (const { dir, origin } of this.#roots()) {
        for (const packageName of conventional) {
          const packageDir = join(dir, packageName);
          const match = connectorsOf(await readPackageJson(packageDir), packageDir, origin).find(
            (c) => c.name === name,
          );
          if (match) return match;
        }
      }
    }
    return (await this.list()).find((c) => c.name === name);
  }

  /** Import a connector by name and check it implements this contract. */
  async load(name: string): Promise<LoadedConnector> {
    const info = await this.find(name);
    if (!info) throw await this.#notFound(name);
    const where = `connector "${name}" from ${info.packageName}@${info.packageVersion}`;
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(info.modulePath).href)) as Record<string, unknown>;
    } catch (error) {
      throw new ConnectorSpecError(
        `Could not import ${where} (${info.modulePath}): ${(error as Error).message}. Reinstall the package, or build it if it is part of this workspace.`,
      );
    }
    const connectorClass = module[info.exportName];
    assertConnectorClass(connectorClass, where);
    return { info, connectorClass };
  }

  async #notFound(name: string): Promise<ConnectorNotFoundError> {
    const installed = await this.list();
    const listed =
      installed.length === 0
        ? 'No connector is installed.'
        : `Installed: ${installed.map((c) => `${c.name} (${c.packageName})`).join(', ')}.`;
    const packageName = this.#options.packageHint?.(name);
    const advice = packageName
      ? `Install it with: npm install ${packageName}`
      : `Install a package that registers "${name}" in the "infra.connectors" field of its package.json.`;
    return new ConnectorNotFoundError(
      name,
      `No connector named "${name}" is installed. ${listed} ${advice}`,
    );
  }
}

async function listPackageDirs(nodeModules: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(nodeModules);
  } catch {
    return [];
  }
  const dirs: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      if (name.startsWith('.')) return;
      if (name.startsWith('@')) {
        try {
          for (const sub of await readdir(join(nodeModules, name)))
            dirs.push(join(nodeModules, name, sub));
        } catch {
          // an unreadable scope folder holds nothing for us
        }
      } else {
        dirs.push(join(nodeModules, name));
      }
    }),
  );
  return dirs.sort();
}
