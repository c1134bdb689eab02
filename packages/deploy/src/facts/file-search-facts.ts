import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { defineFact } from './fact.js';
import type { PathArgs } from './file-facts.js';

export const sha256Fact = defineFact<PathArgs, string | null, 'files.sha256'>({
  name: 'files.sha256',
  description:
    'The sha256 of the file at `path` (sha256sum, shasum or sha256), or null when there is no file.',
  argNames: ['path'],
  command: ({ path }) =>
    sh`p=${path}; if [ -f "$p" ]; then sha256sum -- "$p" 2>/dev/null || shasum -a 256 -- "$p" 2>/dev/null || sha256 -q -- "$p"; fi`,
  parse: (output) => output.stdout.trim().split(/\s+/)[0] || null,
});

export interface FindArgs {
  /** Where to look (the path itself is listed too when it matches). */
  readonly path: string;
  /** `f` files, `d` directories, `l` symbolic links; anything when not given. */
  readonly type?: 'f' | 'd' | 'l';
  /** A `find -name` glob, e.g. `*.conf`. */
  readonly name?: string;
  /** How deep to look: 1 is the entries of `path` only. */
  readonly maxDepth?: number | string;
}

export function findCommand(args: FindArgs) {
  if (args.type !== undefined && !['f', 'd', 'l'].includes(args.type)) {
    throw new OperationArgumentError(
      'files.find',
      `type ${JSON.stringify(args.type)} is not a find type: expected f, d or l.`,
    );
  }
  const depth = args.maxDepth === undefined ? undefined : Number(args.maxDepth);
  if (depth !== undefined && (!Number.isInteger(depth) || depth < 0)) {
    throw new OperationArgumentError(
      'files.find',
      `maxDepth ${JSON.stringify(args.maxDepth)} is not a whole number: expected e.g. maxDepth=1.`,
    );
  }
  const depthOption = depth === undefined ? sh`` : sh` -maxdepth ${depth}`;
  const typeOption = args.type === undefined ? sh`` : sh` -type ${args.type}`;
  const nameOption = args.name === undefined ? sh`` : sh` -name ${args.name}`;
  return sh`p=${args.path}; if [ -e "$p" ]; then find "$p"${depthOption}${typeOption}${nameOption} -print; fi`;
}

export const findFact = defineFact<FindArgs, string[], 'files.find'>({
  name: 'files.find',
  description:
    'The paths under `path` (find), optionally only of a `type` (f, d, l), matching a `name` glob, down to `maxDepth`; sorted; [] when `path` does not exist.',
  argNames: ['path', 'type', 'name', 'maxDepth'],
  command: findCommand,
  parse: (output) => output.stdoutLines.filter((line) => line !== '').sort(),
});
