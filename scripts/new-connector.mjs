#!/usr/bin/env node
// `pnpm new:connector NAME`: scaffold packages/connector-NAME from scripts/templates/connector.
//
// Writes the package (package.json with the `infra.connectors` discovery field, tsconfig,
// vitest config, a src/ skeleton whose methods throw "not implemented: ...", the
// conformance test wired to @infra/connector-testkit, a README with the data-keys table),
// a first changeset, and adds the package to the CLI's devDependencies (apps/cli,
// `workspace:*`), so that after `pnpm install` it is linked into the CLI's node_modules,
// where `pnpm infra connectors` finds it (the CLI's own install). Not the root package.json:
// turbo hashes the root's workspace dependencies into every task's hash, so a new one there
// would rebuild every package; in the CLI's it rebuilds only the new package and the CLI.
//
// Usage: node scripts/new-connector.mjs NAME [--root DIR] [--no-cli-dependency]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPLATE_DIR = fileURLToPath(new URL('./templates/connector/', import.meta.url));
const DEFAULT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export class NewConnectorError extends Error {
  constructor(message) {
    super(message);
    this.name = 'NewConnectorError';
    this.code = 'NEW_CONNECTOR_INVALID';
  }
}

const NAME_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

/** `my-box` -> `MyBox`, `my_box`, `MY_BOX`. */
export function namesFor(name) {
  const words = name.split('-');
  return {
    name,
    className: `${words.map((w) => w[0].toUpperCase() + w.slice(1)).join('')}Connector`,
    snake: words.join('_'),
    constant: words.join('_').toUpperCase(),
    file: `${name}-connector`,
  };
}

async function readJson(path) {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** Every workspace package: its folder, name and the connector names it registers. */
async function workspacePackages(root) {
  const found = [];
  for (const group of ['packages', 'apps']) {
    let entries;
    try {
      entries = await readdir(join(root, group), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const dir = join(root, group, entry.name);
      if (!existsSync(join(dir, 'package.json'))) continue;
      const pkg = await readJson(join(dir, 'package.json'));
      found.push({ dir, name: pkg.name, connectors: Object.keys(pkg.infra?.connectors ?? {}) });
    }
  }
  return found;
}

/** The CLI's "install it" hints: connector name -> package, so no new package shadows one. */
async function cliPackageHints(root) {
  let source;
  try {
    source = await readFile(join(root, 'apps/cli/src/connector-packages.ts'), 'utf8');
  } catch {
    return new Map();
  }
  return new Map(
    [...source.matchAll(/^\s*'?([a-z0-9-]+)'?: '(@[^']+)',$/gm)].map(([, n, pkg]) => [n, pkg]),
  );
}

/** Check NAME; throws `NewConnectorError` saying what is wrong and what is expected. */
export async function validateName(name, root) {
  if (name === undefined || name === '') {
    throw new NewConnectorError(
      'Give the connector a name: pnpm new:connector NAME (lowercase letters, digits and dashes, e.g. "chroot" or "lxd-vm").',
    );
  }
  if (!NAME_PATTERN.test(name)) {
    throw new NewConnectorError(
      `Connector name ${JSON.stringify(name)} is not valid: use lowercase letters, digits and single dashes, starting with a letter (e.g. "chroot" or "lxd-vm"). It becomes @infra/connector-NAME and the connection string @NAME:ARG.`,
    );
  }
  const packageName = `@infra/connector-${name}`;
  const dir = join(root, 'packages', `connector-${name}`);
  if (existsSync(dir)) {
    throw new NewConnectorError(
      `${relative(root, dir)} already exists: pick another name, or remove that folder first.`,
    );
  }
  for (const pkg of await workspacePackages(root)) {
    if (pkg.name === packageName) {
      throw new NewConnectorError(
        `The package ${packageName} already exists in ${relative(root, pkg.dir)}: pick another name.`,
      );
    }
    if (pkg.connectors.includes(name)) {
      throw new NewConnectorError(
        `The connector name "${name}" is already registered by ${pkg.name} (${relative(root, pkg.dir)}): pick another name, connection strings must be unambiguous.`,
      );
    }
  }
  const hinted = (await cliPackageHints(root)).get(name);
  if (hinted !== undefined && hinted !== packageName) {
    throw new NewConnectorError(
      `The connector name "${name}" is reserved for ${hinted} (the CLI's install hint in apps/cli/src/connector-packages.ts): pick another name.`,
    );
  }
  if (existsSync(join(root, '.changeset', `connector-${name}.md`))) {
    throw new NewConnectorError(
      `.changeset/connector-${name}.md already exists: remove it or pick another name.`,
    );
  }
}

function fill(text, values) {
  return text.replace(/__([A-Z_]+?)__/g, (match, key) =>
    Object.hasOwn(values, key) ? values[key] : match,
  );
}

async function templateFiles(dir, prefix = '') {
  const files = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory()) files.push(...(await templateFiles(join(dir, entry.name), path)));
    else if (entry.name.endsWith('.tmpl')) files.push(path);
  }
  return files.sort();
}

function sortedObject(object) {
  return Object.fromEntries(Object.entries(object).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Create the package. Returns the paths written (relative to root) and whether the
 * CLI's package.json was changed.
 */
export async function createConnector(name, { root = DEFAULT_ROOT, cliDependency = true } = {}) {
  await validateName(name, root);
  const names = namesFor(name);
  // Tool versions follow the built-in connectors, so every package builds with the same ones.
  const reference = await readJson(join(root, 'packages/connector-local/package.json'));
  const values = {
    NAME: names.name,
    CLASS: names.className,
    SNAKE: names.snake,
    CONST: names.constant,
    FILE: names.file,
    TYPES_NODE: reference.devDependencies?.['@types/node'] ?? '^20.19.0',
    TYPESCRIPT: reference.devDependencies?.typescript ?? '~5.9.3',
    VITEST: reference.devDependencies?.vitest ?? '^4.1.0',
  };
  const packageDir = join(root, 'packages', `connector-${name}`);
  const written = [];
  for (const file of await templateFiles(TEMPLATE_DIR)) {
    const text = fill(await readFile(join(TEMPLATE_DIR, file), 'utf8'), values);
    const target =
      file === 'changeset.md.tmpl'
        ? join(root, '.changeset', `connector-${name}.md`)
        : join(packageDir, fill(file.slice(0, -'.tmpl'.length), values));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, text, { flag: 'wx' });
    written.push(relative(root, target));
  }
  // Format with the repo's own biome settings (import order and line width depend on the
  // names), so `pnpm lint` passes on the new package as generated.
  const biome = join(root, 'node_modules', '.bin', 'biome');
  const formatted =
    existsSync(biome) &&
    spawnSync(biome, ['check', '--write', packageDir], { cwd: root, stdio: 'ignore' }).status === 0;
  let cliChanged = false;
  if (cliDependency) {
    const cliPath = join(root, 'apps/cli/package.json');
    const cliPackage = await readJson(cliPath);
    const packageName = `@infra/connector-${name}`;
    if (cliPackage.devDependencies?.[packageName] === undefined) {
      cliPackage.devDependencies = sortedObject({
        ...cliPackage.devDependencies,
        [packageName]: 'workspace:*',
      });
      await writeFile(cliPath, `${JSON.stringify(cliPackage, null, 2)}\n`);
      cliChanged = true;
    }
  }
  return { names, packageDir, written, cliChanged, formatted };
}

async function main(argv) {
  const args = argv.filter((a) => !a.startsWith('--'));
  const rootFlag = argv.indexOf('--root');
  const root = rootFlag === -1 ? DEFAULT_ROOT : argv[rootFlag + 1];
  const name = args.filter((a) => a !== root)[0];
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(
      'Usage: pnpm new:connector NAME [--no-cli-dependency]\nCreates packages/connector-NAME (@infra/connector-NAME), registering @NAME.',
    );
    return 0;
  }
  try {
    const { names, written, cliChanged, formatted } = await createConnector(name, {
      root,
      cliDependency: !argv.includes('--no-cli-dependency'),
    });
    const lines = [
      `Created @infra/connector-${name} (${names.className}, connection string @${name}:ARG):`,
      ...written.map((file) => `  ${file}`),
    ];
    if (cliChanged) {
      lines.push(
        `  apps/cli/package.json: devDependencies["@infra/connector-${name}"] = "workspace:*" (so \`pnpm infra connectors\` finds it)`,
      );
    }
    if (!formatted) {
      lines.push(`  (not formatted: run pnpm exec biome check --write packages/connector-${name})`);
    }
    lines.push(
      '',
      'Next:',
      '  pnpm install && pnpm build',
      `  cd packages/connector-${name} && pnpm test   # the conformance suite says what to implement`,
      '  pnpm infra connectors',
      '',
      'Then fill in the TODOs of src/, the README and the changeset; see docs/writing-a-connector.md.',
    );
    console.log(lines.join('\n'));
    return 0;
  } catch (error) {
    if (error instanceof NewConnectorError) {
      console.error(`new:connector: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await main(process.argv.slice(2));
}
