import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OutputOptions } from './args.js';
import { EXIT } from './exit-codes.js';
import type { CliStreams } from './reporter.js';
import { UsageError } from './usage-error.js';

type TypeScript = typeof import('typescript');

export interface CheckContext {
  readonly streams: CliStreams;
  /** The user's project: TypeScript and @types/node are looked for here first. */
  readonly projectDir: string;
  /** The CLI's own install, searched after the project. */
  readonly cliDir: string;
}

/** `require.resolve` from `dir`, or undefined when the module is not there. */
function resolveFrom(dir: string, request: string): string | undefined {
  try {
    return createRequire(join(dir, 'noop.js')).resolve(request);
  } catch {
    return undefined;
  }
}

async function loadTypeScript(context: CheckContext): Promise<TypeScript> {
  const entry =
    resolveFrom(context.projectDir, 'typescript') ?? resolveFrom(context.cliDir, 'typescript');
  if (!entry) {
    throw new UsageError(
      'infra check type-checks with TypeScript, which is not installed here: run npm install --save-dev typescript in your project, then infra check again.',
    );
  }
  const module = (await import(entry)) as TypeScript & { default?: TypeScript };
  return module.default ?? module;
}

/** The folder of a package's `dist/` types: the copy of `@infra/deploy` (and its core) deploy files run with. */
function distOf(entryUrl: string): string {
  return dirname(fileURLToPath(entryUrl));
}

/**
 * The compiler options `infra check` uses: strict TypeScript as deploy files are
 * run (ESM, bundler-style imports, `.ts` extensions allowed), with `@infra/deploy`
 * and `@infra/core` resolved to the copies this CLI runs deploy files with, so
 * files anywhere type-check without a node_modules of their own.
 */
function compilerOptions(ts: TypeScript, context: CheckContext, baseDir: string) {
  const deployDist = distOf(import.meta.resolve('@infra/deploy'));
  const coreDist = dirname(createRequire(join(deployDist, 'index.js')).resolve('@infra/core'));
  const nodeTypes =
    resolveFrom(context.projectDir, '@types/node/package.json') ??
    resolveFrom(context.cliDir, '@types/node/package.json') ??
    resolveFrom(deployDist, '@types/node/package.json');
  const json = {
    strict: true,
    noEmit: true,
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'ESNext',
    moduleResolution: 'Bundler',
    allowImportingTsExtensions: true,
    resolveJsonModule: true,
    esModuleInterop: true,
    skipLibCheck: true,
    allowJs: true,
    types: nodeTypes ? ['node'] : [],
    ...(nodeTypes ? { typeRoots: [dirname(dirname(nodeTypes))] } : {}),
    paths: {
      '@infra/deploy': [join(deployDist, 'index.d.ts')],
      '@infra/deploy/*': [join(deployDist, '*')],
      '@infra/core': [join(coreDist, 'index.d.ts')],
      '@infra/core/*': [join(coreDist, '*')],
    },
  };
  const converted = ts.convertCompilerOptionsFromJson(json, baseDir);
  return converted.options;
}

/**
 * `infra check FILE...`: type-check deploy and inventory files (TypeScript or
 * JavaScript) before anything connects. Prints each error as `file:line:col -
 * error TSnnnn: message`. Exit 0 when clean, 2 when a file has errors (nothing ran).
 */
export async function runCheck(
  files: readonly string[],
  options: OutputOptions,
  context: CheckContext,
): Promise<number> {
  const paths = files.map((file) => resolve(context.projectDir, file));
  const missing = files.filter((_, i) => !existsSync(paths[i] as string));
  if (missing.length > 0) {
    throw new UsageError(
      `infra check: no such file${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`,
    );
  }
  const ts = await loadTypeScript(context);
  const program = ts.createProgram(paths, compilerOptions(ts, context, context.projectDir));
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
  const { stdout, stderr } = context.streams;
  const shown = diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const where = diagnostic.file
      ? (() => {
          const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(
            diagnostic.start ?? 0,
          );
          return `${relative(context.projectDir, diagnostic.file.fileName)}:${line + 1}:${character + 1}`;
        })()
      : 'infra check';
    return { where, code: `TS${diagnostic.code}`, message };
  });
  if (options.json) {
    for (const item of shown) stdout.write(`${JSON.stringify({ type: 'type-error', ...item })}\n`);
    stdout.write(
      `${JSON.stringify({ type: 'summary', files: files.length, errors: shown.length, exitCode: shown.length > 0 ? EXIT.usage : EXIT.ok })}\n`,
    );
  } else {
    for (const item of shown) stderr.write(`${item.where} - error ${item.code}: ${item.message}\n`);
    const fileCount = `${files.length} file${files.length === 1 ? '' : 's'}`;
    const summary =
      shown.length === 0
        ? `Checked ${fileCount}: no type errors.\n`
        : `Checked ${fileCount}: ${shown.length} type error${shown.length === 1 ? '' : 's'}.\n`;
    (shown.length === 0 ? stdout : stderr).write(summary);
  }
  return shown.length > 0 ? EXIT.usage : EXIT.ok;
}
