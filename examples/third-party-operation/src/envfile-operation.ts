import { defineOperation } from '@infra/deploy';
import { envfileValuesFact } from './envfile-fact.js';

export interface EnvfileSetArgs {
  /** The dotenv file on the host; created when missing. */
  path: string;
  /** The keys to set; other keys in the file are kept. */
  values: Readonly<Record<string, string>>;
  /** The file's mode when it is written, e.g. "600" (default 600: env files hold secrets). */
  mode?: string;
}

/** The file's text after setting `values` over `current`, keys in order. */
export function renderEnvfile(
  current: Readonly<Record<string, string>>,
  values: Readonly<Record<string, string>>,
): string {
  const merged = { ...current, ...values };
  return Object.entries(merged)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
}

/** Make keys of a dotenv file hold the given values: writes the file only when one differs. */
export const envfileSetOperation = defineOperation<EnvfileSetArgs, 'envfile.set'>({
  name: 'envfile.set',
  description: 'Set KEY=VALUE pairs in a dotenv file, keeping its other keys.',
  argNames: ['path', 'values', 'mode'],
  label: (args) => `envfile.set ${args.path} ${Object.keys(args.values ?? {}).join(',')}`,
  plan: async (context, args) => {
    for (const key of Object.keys(args.values ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
        throw new TypeError(`envfile.set: ${JSON.stringify(key)} is not an environment key.`);
      }
    }
    const current = await context.fact(envfileValuesFact, { path: args.path });
    const same =
      current !== null &&
      Object.entries(args.values).every(([key, value]) => current[key] === value);
    if (same) return { steps: [] };
    const content = Buffer.from(renderEnvfile(current ?? {}, args.values));
    return {
      steps: [
        {
          kind: 'upload',
          src: content,
          dest: args.path,
          mode: Number.parseInt(args.mode ?? '600', 8),
          createParents: true,
        },
      ],
    };
  },
});
