import { existsSync, readdirSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { matchGlob } from '@infra/connector-utils';
import { InfraError } from '@infra/core';

/** An ssh_config file that cannot be read or understood; the message names the file and line. */
export class SshConfigError extends InfraError {
  constructor(message: string) {
    super('SSH_CONFIG_INVALID', message);
  }
}

/** How deep `Include`s may nest. */
export const MAX_INCLUDE_DEPTH = 16;

/** Split a config line into words, honouring double quotes and `Key=Value`. */
export function splitConfigLine(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let inQuotes = false;
  let hasWord = false;
  const text = line.trim();
  // `Keyword=value` and `Keyword = value`
  const eq = /^([A-Za-z]+)\s*=\s*/.exec(text);
  const rest = eq ? `${eq[1]} ${text.slice(eq[0].length)}` : text;
  for (const char of rest) {
    if (char === '"') {
      inQuotes = !inQuotes;
      hasWord = true;
    } else if (!inQuotes && /\s/.test(char)) {
      if (hasWord) words.push(current);
      current = '';
      hasWord = false;
    } else {
      current += char;
      hasWord = true;
    }
  }
  if (hasWord) words.push(current);
  return words;
}

/**
 * OpenSSH's `*` / `?` wildcard match, case-insensitive (host names), brackets literal:
 * the shared glob matcher of `@infra/connector-utils` with OpenSSH's options (it
 * compiles each pattern once: every host of a run meets the same `Host` lines).
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  return matchGlob(pattern, value, { caseInsensitive: true, classes: false });
}

/**
 * A pattern list (`web*,!web3`): true when some positive pattern matches and no
 * negated one does.
 */
export function matchPatternList(patterns: readonly string[], value: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), value)) return false;
    } else if (wildcardMatch(pattern, value)) {
      matched = true;
    }
  }
  return matched;
}

export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

/** Expand `%h %p %r %u %d %n %%` and a leading `~` in a path or command. */
export function expandTokens(
  value: string,
  tokens: { host: string; port: number; user: string; originalHost: string },
): string {
  const expanded = value.replace(/%([%hprudnC])/g, (_, token: string) => {
    switch (token) {
      case '%':
        return '%';
      case 'h':
        return tokens.host;
      case 'p':
        return String(tokens.port);
      case 'r':
        return tokens.user;
      case 'u':
        return userInfo().username;
      case 'd':
        return homedir();
      case 'n':
        return tokens.originalHost;
      default:
        return `%${token}`;
    }
  });
  return expandHome(expanded);
}

/** The files a (possibly wildcard) `Include` path names, sorted. */
export function globFiles(pattern: string): string[] {
  const dir = dirname(pattern);
  const base = basename(pattern);
  if (!/[*?]/.test(base)) return existsSync(pattern) ? [pattern] : [];
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => wildcardMatch(base, name))
    .sort()
    .map((name) => join(dir, name));
}
