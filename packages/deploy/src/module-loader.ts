import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This package's own entry, so `import { deploy } from '@infra/deploy'` works from any folder. */
const SELF_ENTRY = fileURLToPath(new URL('./index.js', import.meta.url));
/** The `@infra/core` this package uses, so a deploy file in any folder shares it. */
const CORE_ENTRY = fileURLToPath(import.meta.resolve('@infra/core'));

/** Set to a folder to keep transpiled deploy files there, or to `off` to keep none. */
export const MODULE_CACHE_ENV = 'INFRA_MODULE_CACHE';

/**
 * Where transpiled deploy and inventory files are kept between runs: the
 * `INFRA_MODULE_CACHE` folder, else `$XDG_CACHE_HOME/infra/modules` (`~/.cache/...`),
 * made private to the user. Transpiling loads Babel (about 0.15 s of CPU and 30 MB
 * measured here); a file whose source is unchanged is read back instead. False when
 * the folder cannot be made (a read-only home): then nothing is kept.
 */
export function moduleCacheDir(env: NodeJS.ProcessEnv = process.env): string | false {
  const configured = env[MODULE_CACHE_ENV];
  if (configured === 'off') return false;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const dir = configured || join(base, 'infra', 'modules');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return false;
  }
}

/**
 * Import a user's TypeScript or JavaScript file (a deploy file, an inventory) with
 * no build step, through jiti. Loaded on first use only: the CLI's other commands
 * never pay for it. `@infra/*` packages are imported natively, so a deploy file
 * shares this process's copy of `@infra/core` and `@infra/deploy`.
 */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  // jiti's CommonJS entry through require: imported as ES module, Node would first scan its
  // 190 kB bundle for export names (about 20 ms of CPU measured here), for the same function.
  const { createJiti } = createRequire(import.meta.url)('jiti') as typeof import('jiti');
  const jiti = createJiti(import.meta.url, {
    moduleCache: false,
    fsCache: moduleCacheDir(),
    interopDefault: false,
    alias: { '@infra/deploy': SELF_ENTRY, '@infra/core': CORE_ENTRY },
    nativeModules: ['@infra/core', '@infra/deploy'],
  });
  return (await jiti.import(file)) as Record<string, unknown>;
}

/**
 * Why a user's file could not be imported, in words: the error's message without
 * Node's internal "Require stack" (which lists infra's own files, not the user's).
 */
export function loadErrorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/\n\s*Require stack:[\s\S]*$/, '')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n\s+/g, ' ')
    .trim();
}
