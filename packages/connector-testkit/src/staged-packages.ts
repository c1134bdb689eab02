import { chmod, cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';

/**
 * Installed packages copied (with everything they import at run time) into a fresh folder
 * every user can read, so code a test runs as another user (`runuser`, `sudo -u`) does not
 * depend on where the clone lives: a clone in a mode-0700 folder (`mktemp -d`, root's home)
 * is out of that user's reach.
 */
export interface StagedPackages {
  /** The folder: scripts copied with `scripts` sit here, packages in its `node_modules`. */
  readonly dir: string;
  /** The staged copy of an installed package's folder. */
  packageDir(name: string): string;
  /** The staged copy of a script given in `scripts`. */
  script(fileName: string): string;
  /** Removes the folder. */
  remove(): Promise<void>;
}

export interface StagePackagesOptions {
  /** Where the packages are resolved from, as Node would (its node_modules, then its parents'). */
  from: string;
  /** Scripts to copy into the folder, beside its node_modules: they import the packages by name. */
  scripts?: readonly string[];
}

interface Manifest {
  name?: string;
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** The real folder of `name` as Node resolves it from `start` (itself included), or undefined. */
async function findPackage(name: string, start: string): Promise<string | undefined> {
  let dir = resolve(start);
  const { root } = parse(dir);
  for (;;) {
    if ((await readManifest(dir))?.name === name) return realpath(dir);
    const candidate = join(dir, 'node_modules', name);
    if (await readManifest(candidate)) return realpath(candidate);
    if (dir === root) return undefined;
    dir = dirname(dir);
  }
}

/** What a package ships: a workspace package its `files` and package.json, else all but node_modules. */
async function copyPackage(source: string, target: string, manifest: Manifest): Promise<void> {
  await mkdir(target, { recursive: true });
  const inWorkspace = !source.split(sep).includes('node_modules');
  const shipped = inWorkspace && manifest.files ? manifest.files : await readdir(source);
  const names = new Set(['package.json', ...shipped.filter((file) => !file.startsWith('!'))]);
  names.delete('node_modules');
  for (const name of names) {
    const from = join(source, name);
    if (!(await stat(from).catch(() => undefined))) continue;
    await cp(from, join(target, name), { recursive: true, dereference: true });
  }
}

/** Everyone may read every file and enter every folder. */
async function openToAll(path: string): Promise<void> {
  const info = await stat(path);
  await chmod(path, (info.mode & 0o7777) | (info.isDirectory() ? 0o555 : 0o444));
  if (!info.isDirectory()) return;
  for (const entry of await readdir(path)) await openToAll(join(path, entry));
}

/**
 * Copies the packages `names` resolve to from `options.from`, and their dependencies,
 * into a new folder under the system temp folder readable by every user. Remove it after.
 */
export async function stagePackages(
  names: readonly string[],
  options: StagePackagesOptions,
): Promise<StagedPackages> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-staged-'));
  const nodeModules = join(dir, 'node_modules');
  const staged = new Set<string>();
  try {
    const pending = names.map((name) => ({ name, from: options.from, required: true }));
    for (let next = pending.shift(); next; next = pending.shift()) {
      if (staged.has(next.name)) continue;
      const source = await findPackage(next.name, next.from);
      if (!source) {
        if (!next.required) continue;
        throw new Error(`stagePackages: ${next.name} is not installed where ${next.from} sees it`);
      }
      const manifest = (await readManifest(source)) ?? {};
      staged.add(next.name);
      await copyPackage(source, join(nodeModules, next.name), manifest);
      for (const [field, required] of [
        ['dependencies', true],
        ['peerDependencies', false],
        ['optionalDependencies', false],
      ] as const) {
        for (const dep of Object.keys(manifest[field] ?? {})) {
          pending.push({ name: dep, from: source, required });
        }
      }
    }
    await mkdir(nodeModules, { recursive: true });
    for (const script of options.scripts ?? []) {
      await cp(script, join(dir, basename(script)));
    }
    await openToAll(dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    packageDir(name) {
      if (!staged.has(name)) throw new Error(`stagePackages: ${name} was not staged`);
      return join(nodeModules, name);
    },
    script(fileName) {
      return join(dir, fileName);
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
