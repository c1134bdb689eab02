import { sh } from '@infra/core';
import { defineFact } from '@infra/deploy';

export interface EnvfileArgs {
  /** The dotenv file on the host. */
  path: string;
}

/** `KEY=VALUE` lines to a map; blank lines and `#` comments are skipped. */
export function parseEnvfile(lines: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of lines) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) values[match[1]] = match[2] ?? '';
  }
  return values;
}

/** The values in a dotenv file on the host, or null when there is no such file. */
export const envfileValuesFact = defineFact<
  EnvfileArgs,
  Record<string, string> | null,
  'envfile.values'
>({
  name: 'envfile.values',
  description: 'The KEY=VALUE pairs of a dotenv file, or null when the file does not exist.',
  argNames: ['path'],
  command: ({ path }) => sh`if [ -f ${path} ]; then echo present && cat -- ${path}; fi`,
  parse: (output) => {
    const [marker, ...lines] = output.stdoutLines;
    return marker === 'present' ? parseEnvfile(lines) : null;
  },
});
