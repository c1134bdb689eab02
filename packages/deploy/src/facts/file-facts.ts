import { sh } from '@infra/core';
import { defineFact } from './fact.js';

/** What is at a path: a file (with its sha256), a directory, a symlink, or something else. */
export type PathInfo =
  | {
      readonly type: 'file' | 'directory';
      /** Permission bits in octal, e.g. "644". */
      readonly mode: string;
      readonly user: string;
      readonly group: string;
      readonly size: number;
      /** Seconds since the epoch. */
      readonly mtime: number;
      /** Only for files. */
      readonly sha256?: string;
    }
  | {
      readonly type: 'link';
      readonly target: string;
      readonly user: string;
      readonly group: string;
    }
  | { readonly type: 'other' };

export interface PathArgs {
  readonly path: string;
}

function statCommand(path: string, withSha: boolean) {
  const sha = withSha ? sh`&& sha256sum -- "$p"` : sh``;
  return sh`p=${path}; if [ -L "$p" ]; then echo link && readlink -- "$p" && stat -c '%U|%G' -- "$p"; elif [ -d "$p" ]; then echo directory && stat -c '%a|%U|%G|%s|%Y' -- "$p"; elif [ -f "$p" ]; then echo file && stat -c '%a|%U|%G|%s|%Y' -- "$p" ${sha}; elif [ -e "$p" ]; then echo other; else echo absent; fi`;
}

/** Read what `statCommand` printed. */
export function parseStat(lines: readonly string[]): PathInfo | null {
  const [type, second = '', third = ''] = lines;
  if (type === 'absent' || type === undefined) return null;
  if (type === 'other') return { type: 'other' };
  if (type === 'link') {
    const [user = '', group = ''] = third.split('|');
    return { type: 'link', target: second, user, group };
  }
  const [mode = '', user = '', group = '', size = '0', mtime = '0'] = second.split('|');
  const info = {
    type: type === 'directory' ? ('directory' as const) : ('file' as const),
    mode,
    user,
    group,
    size: Number(size),
    mtime: Number(mtime),
  };
  const sha256 = third.split(/\s+/)[0] ?? '';
  return type === 'file' && sha256 !== '' ? { ...info, sha256 } : info;
}

export const fileFact = defineFact<PathArgs, PathInfo | null, 'files.file'>({
  name: 'files.file',
  description:
    'What is at `path`: null when nothing is; type, mode, user, group, size, mtime, and the sha256 of a file.',
  argNames: ['path'],
  command: ({ path }) => statCommand(path, true),
  parse: (output) => parseStat(output.stdoutLines),
});

export const directoryFact = defineFact<PathArgs, PathInfo | null, 'files.directory'>({
  name: 'files.directory',
  description:
    'What is at `path` without hashing it: null when nothing is; type, mode, user, group.',
  argNames: ['path'],
  command: ({ path }) => statCommand(path, false),
  parse: (output) => parseStat(output.stdoutLines),
});
