import { fileURLToPath } from 'node:url';

/** This package's own entry, so `import { deploy } from '@infra/deploy'` works from any folder. */
const SELF_ENTRY = fileURLToPath(new URL('./index.js', import.meta.url));
/** The `@infra/core` this package uses, so a deploy file in any folder shares it. */
const CORE_ENTRY = fileURLToPath(import.meta.resolve('@infra/core'));

/**
 * Import a user's TypeScript or JavaScript file (a deploy file, an inventory) with
 * no build step, through jiti. Loaded on first use only: the CLI's other commands
 * never pay for it. `@infra/*` packages are imported natively, so a deploy file
 * shares this process's copy of `@infra/core` and `@infra/deploy`.
 */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, {
    moduleCache: false,
    fsCache: false,
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
