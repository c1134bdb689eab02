// A package's JavaScript build, run after `tsc --emitDeclarationOnly` (which writes the types):
// the entries of its package.json `exports`, and `dist/bin.js` when it has `src/bin.ts`, bundled
// from src/ into as few ESM files in dist/ as possible, with source maps. Whatever is imported
// by a bare name (node: builtins, dependencies, other @infra packages) stays an import, so
// packages keep sharing one copy of each other.
//
// Why: Node's ESM loader costs about 1 ms a file (resolve, read, compile, link), and
// `infra @local exec -- true` loaded 63 of them (issue #14, cold start).
//
// - When the main entry (`.`) exports every name the other entries export, and is small
//   (under MAIN_ENTRY_MAX_BYTES), the others are one-line re-exports of dist/index.js: a program
//   importing several loads one file. Otherwise (@infra/deploy: its subpaths exist so that the
//   CLI need not parse the whole engine) the entries are built together and share chunks.
// - A bin is built on its own: what every run needs in dist/bin.js, the parts only some of
//   its commands need in chunks it imports when they run.
//
// Usage, from a package's folder: node ../../scripts/bundle-package.mjs
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { rolldown } from 'rolldown';

const packageDir = process.cwd();
const distDir = join(packageDir, 'dist');
const packageJson = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'));

/** Entry name (dist/NAME.js) → its source, src/NAME.ts, for each `exports` entry. */
function exportedEntries() {
  const input = {};
  for (const target of Object.values(packageJson.exports ?? {})) {
    const path = typeof target === 'string' ? target : target?.default;
    if (typeof path === 'string' && path.startsWith('./dist/') && path.endsWith('.js')) {
      const name = relative('dist', path).replace(/\.js$/, '');
      input[name] = join(packageDir, 'src', `${name}.ts`);
    }
  }
  return input;
}

function bundle(input) {
  return rolldown({
    input,
    cwd: packageDir,
    platform: 'node',
    resolve: { extensionAlias: { '.js': ['.ts', '.js'] } },
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    transform: { target: 'node20' },
    logLevel: 'warn',
  });
}

const OUTPUT = {
  dir: distDir,
  format: 'esm',
  sourcemap: true,
  entryFileNames: '[name].js',
  chunkFileNames: '[name]-[hash].js',
};

async function write(input) {
  const build = await bundle(input);
  await build.write(OUTPUT);
  await build.close();
}

/** Measured on @infra/core (38 KB) and @infra/deploy (207 KB): see the comment at the top. */
const MAIN_ENTRY_MAX_BYTES = 64 * 1024;

/** Each entry chunk of a build kept in memory, by entry name. */
async function entryChunks(entries) {
  const build = await bundle(entries);
  const { output } = await build.generate(OUTPUT);
  await build.close();
  return new Map(
    output.filter((chunk) => chunk.type === 'chunk' && chunk.isEntry).map((c) => [c.name, c]),
  );
}

/**
 * Each other entry's export names, when every one of them can be a re-export of the main
 * entry (see the comment at the top); undefined when not.
 */
async function reexportsOfMain(input, others) {
  if (others.length === 0) return undefined;
  const main = (await entryChunks({ index: input.index })).get('index');
  if (main.code.length > MAIN_ENTRY_MAX_BYTES) return undefined;
  const mainExports = new Set(main.exports);
  const chunks = await entryChunks(input);
  const names = new Map(others.map((name) => [name, chunks.get(name).exports]));
  const all = [...names.values()].every((list) => list.every((n) => mainExports.has(n)));
  return all ? names : undefined;
}

/** Every .js and .js.map under dist/: what an earlier build (or tsc) left there. */
async function removeOldJavaScript() {
  const found = await readdir(distDir, { withFileTypes: true, recursive: true }).catch(() => []);
  await Promise.all(
    found
      .filter((entry) => entry.isFile() && /\.js(\.map)?$/.test(entry.name))
      .map((entry) => rm(join(entry.parentPath, entry.name))),
  );
}

const input = exportedEntries();
if (input.index === undefined) {
  console.error(`bundle-package: ${packageJson.name} has no "." export at ./dist/index.js`);
  process.exit(1);
}
const others = Object.keys(input).filter((name) => name !== 'index');
const reexports = await reexportsOfMain(input, others);

await removeOldJavaScript();
if (reexports) {
  await write({ index: input.index });
  for (const [name, names] of reexports) {
    const up = '../'.repeat(name.split('/').length - 1) || './';
    await writeFile(
      join(distDir, `${name}.js`),
      `export { ${names.join(', ')} } from '${up}index.js';\n`,
    );
  }
} else {
  await write(input);
}
const hasBin = await readFile(join(packageDir, 'src', 'bin.ts')).then(
  () => true,
  () => false,
);
if (hasBin) await write({ bin: join(packageDir, 'src', 'bin.ts') });
