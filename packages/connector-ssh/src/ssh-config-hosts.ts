import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import {
  expandHome,
  globFiles,
  MAX_INCLUDE_DEPTH,
  SshConfigError,
  splitConfigLine,
} from './ssh-config-syntax.js';

/** A host name a `Host` line of an ssh_config file names, with where it was found. */
export interface SshConfigHostEntry {
  readonly name: string;
  /** `file:line` of the first `Host` line that names it. */
  readonly where: string;
}

/**
 * Every concrete host name the `Host` lines of an ssh_config file (and the files
 * it `Include`s, wherever the Include stands) name, in file order, each once.
 * Patterns with `*` or `?` and negated (`!name`) entries are not hosts.
 */
export function listSshConfigHosts(
  file: string,
  options: { includeBase?: string } = {},
): SshConfigHostEntry[] {
  const includeBase = options.includeBase ?? join(homedir(), '.ssh');
  const found = new Map<string, SshConfigHostEntry>();
  const visit = (path: string, depth: number) => {
    if (depth > MAX_INCLUDE_DEPTH) {
      throw new SshConfigError(
        `${path}: Include nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?).`,
      );
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new SshConfigError(`Cannot read ssh_config file ${path}: ${(error as Error).message}`);
    }
    text.split('\n').forEach((rawLine, index) => {
      const line = rawLine.trim();
      if (line === '' || line.startsWith('#')) return;
      const [rawKeyword, ...args] = splitConfigLine(line);
      const keyword = rawKeyword?.toLowerCase();
      if (keyword === 'host') {
        for (const name of args) {
          if (name.startsWith('!') || /[*?]/.test(name) || found.has(name.toLowerCase())) continue;
          found.set(name.toLowerCase(), { name, where: `${path}:${index + 1}` });
        }
      } else if (keyword === 'include') {
        for (const pattern of args) {
          const expanded = expandHome(pattern);
          const included = isAbsolute(expanded) ? expanded : join(includeBase, expanded);
          for (const each of globFiles(included)) visit(each, depth + 1);
        }
      }
    });
  };
  visit(file, 0);
  return [...found.values()];
}
