import { globToRegExp } from '@infra/connector-utils';
import { sh } from '@infra/core';
import { defineFact } from './fact.js';

/** One path under a folder, as `files.tree` reads it. */
export interface TreeEntry {
  readonly type: 'file' | 'directory' | 'link' | 'other';
  /** Permission bits in octal, e.g. "644". */
  readonly mode: string;
  readonly user: string;
  readonly group: string;
  /** Only for files. */
  readonly sha256?: string;
}

export interface TreeArgs {
  /** The folder. */
  readonly path: string;
  /** Folder names not to descend into (`node_modules`, `.git`). */
  readonly excludeDirs?: readonly string[];
}

const MARK = '--infra-sha256--';

function typeOf(text: string): TreeEntry['type'] {
  if (text.startsWith('regular')) return 'file';
  if (text === 'directory') return 'directory';
  if (text === 'symbolic link') return 'link';
  return 'other';
}

/** A remote folder as `files.tree` reads it. */
export interface Tree {
  /** Relative path -> entry; null when the folder is absent. */
  readonly entries: Record<string, TreeEntry> | null;
  /** Whether the host has `tar` (files.sync sends many new files as one archive). */
  readonly tar: boolean;
}

/** Read what the `files.tree` command printed. */
export function parseTree(lines: readonly string[]): Tree {
  const tar = lines[0] === 'tar';
  const rest = tar ? lines.slice(1) : lines;
  if (rest[0] !== 'present') return { entries: null, tar };
  const entries: Record<string, { -readonly [K in keyof TreeEntry]: TreeEntry[K] }> = {};
  let hashes = false;
  for (const line of rest.slice(1)) {
    if (line === MARK) {
      hashes = true;
      continue;
    }
    if (hashes) {
      const match = /^([0-9a-f]{64}) [ *]\.\/(.*)$/.exec(line);
      const entry = match?.[2] === undefined ? undefined : entries[match[2]];
      if (entry && match?.[1]) entry.sha256 = match[1];
      continue;
    }
    const [type = '', mode = '', user = '', group = '', ...rest] = line.split('|');
    const path = rest.join('|').replace(/^\.\//, '');
    if (path === '' || path === '.') continue;
    entries[path] = { type: typeOf(type), mode, user, group };
  }
  return { entries, tar };
}

/**
 * Every path under a folder with its type, mode, owner and (files) sha256, in one
 * command: what `files.sync` compares a local tree against.
 */
export const treeFact = defineFact<TreeArgs, Tree, 'files.tree'>({
  name: 'files.tree',
  description:
    'Every path under a folder (relative) with type, mode, user, group and the sha256 of files (entries null when the folder is absent); whether the host has tar.',
  argNames: ['path', 'excludeDirs'],
  optionalArgs: ['excludeDirs'],
  command: ({ path, excludeDirs = [] }) => {
    const prune = excludeDirs.flatMap((name, i) => [...(i > 0 ? ['-o'] : []), '-name', name]);
    const select = prune.length > 0 ? sh`\\( -type d \\( ${prune} \\) -prune \\) -o` : sh``;
    return sh`command -v tar >/dev/null 2>&1 && echo tar; cd ${path} 2>/dev/null || exit 0; echo present; find . -mindepth 1 ${select} -exec stat -c '%F|%a|%U|%G|%n' {} + && echo ${MARK} && find . ${select} -type f -exec sha256sum {} +`;
  },
  parse: (output) => parseTree(output.stdoutLines),
});

export interface MatchingArgs {
  /** An absolute remote path with wildcards: `/var/log/*.log`, `/srv/app/**\/*.json`. */
  readonly pattern: string;
}

/** The folder before a pattern's first wildcard, and how deep below it a match may be. */
export function patternBase(pattern: string): { base: string; depth: number | undefined } {
  const parts = pattern.split('/');
  const first = parts.findIndex((part) => /[*?[]/.test(part));
  const baseParts = first === -1 ? parts.slice(0, -1) : parts.slice(0, first);
  const base = baseParts.join('/') || '/';
  const depth = pattern.includes('**') ? undefined : parts.length - baseParts.length;
  return { base, depth };
}

/** Remote files whose path matches a wildcard pattern: path -> sha256, in one command. */
export const matchingFact = defineFact<MatchingArgs, Record<string, string>, 'files.matching'>({
  name: 'files.matching',
  description: 'Remote files matching a wildcard path (`*`, `?`, `[...]`, `**`): path -> sha256.',
  argNames: ['pattern'],
  command: ({ pattern }) => {
    const { base, depth } = patternBase(pattern);
    const limit = depth === undefined ? sh`` : sh`-maxdepth ${String(depth)}`;
    const findPattern = pattern.replace(/\*\*\/?/g, '*');
    return sh`[ -d ${base} ] || exit 0; find ${base} ${limit} -type f -path ${findPattern} -exec sha256sum {} +`;
  },
  parse: (output, { pattern }) => {
    // find's -path lets `*` cross slashes (and has no `**`): keep what the glob itself matches.
    const glob = globToRegExp(pattern, { separator: '/' });
    const files: Record<string, string> = {};
    for (const line of output.stdoutLines) {
      const match = /^([0-9a-f]{64}) [ *](.*)$/.exec(line);
      if (match?.[1] && match[2] && glob.test(match[2])) files[match[2]] = match[1];
    }
    return files;
  },
});
