import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { matchGlob } from '@infra/connector-utils';
import { InfraError } from '@infra/core';

/** An ssh_config file that cannot be read or understood; the message names the file and line. */
export class SshConfigError extends InfraError {
  constructor(message: string) {
    super('SSH_CONFIG_INVALID', message);
  }
}

/** What ssh_config says about one host (the keys this connector uses). */
export interface SshHostConfig {
  hostName?: string;
  user?: string;
  port?: number;
  /** Every IdentityFile, in the order given. */
  identityFiles: string[];
  identityAgent?: string;
  /** `none` is kept as `none`, so it can override a wider block. */
  proxyJump?: string;
  proxyCommand?: string;
  strictHostKeyChecking?: string;
  userKnownHostsFiles?: string[];
  connectTimeout?: number;
  forwardAgent?: boolean;
  identitiesOnly?: boolean;
  /** `Match exec` blocks that were skipped because running them was not allowed. */
  skippedMatchExec: string[];
}

export interface SshConfigLookup {
  /** The name the host was given by (the alias `Host` patterns match). */
  host: string;
  /** The user given outside the config (inventory data), which wins over `User`. */
  user?: string;
  /** Run `Match exec` commands. Off by default: a config file must not run code unasked. */
  allowMatchExec?: boolean;
  /** Directory relative `Include` paths are resolved against (default ~/.ssh). */
  includeBase?: string;
}

const MAX_INCLUDE_DEPTH = 16;

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
 * the shared glob matcher of `@infra/connector-utils` with OpenSSH's options.
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

function expandHome(path: string): string {
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

interface ParseState {
  readonly lookup: SshConfigLookup;
  readonly result: SshHostConfig;
  readonly includeBase: string;
  /** The second pass OpenSSH makes when the config asks for `Match final`: `final`/`canonical` match. */
  readonly finalPass: boolean;
  /** Set when a non-negated `Match final` is seen (or CanonicalizeHostname is on). */
  wantFinalPass: boolean;
}

function globFiles(pattern: string): string[] {
  const dir = dirname(pattern);
  const base = basename(pattern);
  if (!/[*?]/.test(base)) return existsSync(pattern) ? [pattern] : [];
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => wildcardMatch(base, name))
    .sort()
    .map((name) => join(dir, name));
}

function currentUser(state: ParseState): string {
  return state.lookup.user ?? state.result.user ?? userInfo().username;
}

function currentHost(state: ParseState): string {
  const hostName = state.result.hostName;
  // OpenSSH matches `Match host` against HostName with its %h expanded.
  return hostName === undefined
    ? state.lookup.host
    : hostName.replace(/%%|%h/g, (token) => (token === '%h' ? state.lookup.host : '%'));
}

function evaluateMatch(args: string[], state: ParseState, where: string): boolean {
  let result = true;
  for (let i = 0; i < args.length; i++) {
    const raw = args[i]!;
    const negate = raw.startsWith('!');
    const criterion = (negate ? raw.slice(1) : raw).toLowerCase();
    let matched: boolean;
    if (criterion === 'all') {
      matched = true;
    } else if (criterion === 'canonical' || criterion === 'final') {
      // As OpenSSH without hostname canonicalisation: false on the first pass, true on
      // the final one, which happens when some `Match final` (not negated) asks for it.
      if (criterion === 'final' && !negate) state.wantFinalPass = true;
      matched = state.finalPass;
    } else {
      const value = args[++i];
      if (value === undefined) {
        throw new SshConfigError(`${where}: Match ${criterion} needs an argument.`);
      }
      const patterns = value.split(',');
      switch (criterion) {
        case 'host':
          matched = matchPatternList(patterns, currentHost(state));
          break;
        case 'originalhost':
          matched = matchPatternList(patterns, state.lookup.host);
          break;
        case 'user':
          matched = matchPatternList(patterns, currentUser(state));
          break;
        case 'localuser':
          matched = matchPatternList(patterns, userInfo().username);
          break;
        case 'exec':
          if (!state.lookup.allowMatchExec) {
            state.result.skippedMatchExec.push(`${where}: Match exec ${value}`);
            matched = false;
          } else {
            try {
              execFileSync('/bin/sh', ['-c', value], { stdio: 'ignore' });
              matched = true;
            } catch {
              matched = false;
            }
          }
          break;
        default:
          throw new SshConfigError(
            `${where}: unsupported Match criterion ${JSON.stringify(criterion)} (expected all, host, originalhost, user, localuser or exec).`,
          );
      }
    }
    if (negate) matched = !matched;
    result &&= matched;
  }
  return result;
}

function setOnce<K extends keyof SshHostConfig>(
  result: SshHostConfig,
  key: K,
  value: SshHostConfig[K],
): void {
  if (result[key] === undefined) result[key] = value;
}

function parseYesNo(value: string, where: string, keyword: string): boolean {
  const lower = value.toLowerCase();
  if (lower === 'yes' || lower === 'true') return true;
  if (lower === 'no' || lower === 'false') return false;
  throw new SshConfigError(`${where}: ${keyword} ${JSON.stringify(value)}: expected yes or no.`);
}

function applyOption(keyword: string, args: string[], state: ParseState, where: string): void {
  const { result } = state;
  const value = args[0];
  if (value === undefined) throw new SshConfigError(`${where}: ${keyword} needs a value.`);
  switch (keyword) {
    case 'hostname':
      setOnce(result, 'hostName', value);
      break;
    case 'user':
      setOnce(result, 'user', value);
      break;
    case 'port': {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new SshConfigError(
          `${where}: Port ${JSON.stringify(value)}: expected a number from 1 to 65535.`,
        );
      }
      setOnce(result, 'port', port);
      break;
    }
    case 'identityfile':
      // OpenSSH ignores a repeated IdentityFile (the final pass reads the same lines again).
      if (!result.identityFiles.includes(value)) result.identityFiles.push(value);
      break;
    case 'canonicalizehostname':
      // Not done here, but OpenSSH re-reads the config (a final pass) when it is on.
      if (value.toLowerCase() !== 'no' && value.toLowerCase() !== 'false') {
        state.wantFinalPass = true;
      }
      break;
    case 'identityagent':
      setOnce(result, 'identityAgent', value);
      break;
    case 'proxyjump':
      setOnce(result, 'proxyJump', value);
      break;
    case 'proxycommand':
      setOnce(result, 'proxyCommand', args.join(' '));
      break;
    case 'stricthostkeychecking':
      setOnce(result, 'strictHostKeyChecking', value.toLowerCase());
      break;
    case 'userknownhostsfile':
      setOnce(result, 'userKnownHostsFiles', args);
      break;
    case 'connecttimeout':
      setOnce(result, 'connectTimeout', Number(value));
      break;
    case 'forwardagent':
      setOnce(result, 'forwardAgent', parseYesNo(value, where, 'ForwardAgent'));
      break;
    case 'identitiesonly':
      setOnce(result, 'identitiesOnly', parseYesNo(value, where, 'IdentitiesOnly'));
      break;
    default:
      // Every other OpenSSH keyword is valid and ignored here.
      break;
  }
}

function parseFile(file: string, state: ParseState, outerActive: boolean, depth: number): void {
  if (depth > MAX_INCLUDE_DEPTH) {
    throw new SshConfigError(
      `${file}: Include nested more than ${MAX_INCLUDE_DEPTH} deep (a loop?).`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SshConfigError(`Cannot read ssh_config file ${file}: ${(error as Error).message}`);
  }
  let active = outerActive;
  text.split('\n').forEach((rawLine, index) => {
    const where = `${file}:${index + 1}`;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const [rawKeyword, ...args] = splitConfigLine(line);
    if (rawKeyword === undefined) return;
    const keyword = rawKeyword.toLowerCase();
    if (keyword === 'host') {
      active = outerActive && matchPatternList(args, state.lookup.host);
      return;
    }
    if (keyword === 'match') {
      active = outerActive && evaluateMatch(args, state, where);
      return;
    }
    if (!active) return;
    if (keyword === 'include') {
      for (const pattern of args) {
        const expanded = expandHome(pattern);
        const path = isAbsolute(expanded) ? expanded : join(state.includeBase, expanded);
        for (const included of globFiles(path)) parseFile(included, state, true, depth + 1);
      }
      return;
    }
    applyOption(keyword, args, state, where);
  });
}

/**
 * Read an ssh_config file for one host the way OpenSSH does: the first value of a
 * keyword wins, `IdentityFile` accumulates, `Host` and `Match host/originalhost/user/
 * localuser/all` select blocks, `Include` is followed (globs, relative to ~/.ssh).
 * `Match exec` runs only when `allowMatchExec` is set.
 *
 * `Match canonical` and `Match final` do not match on the first pass. When the file
 * has a (non-negated) `Match final`, or turns CanonicalizeHostname on, it is read a
 * second, final time in which they match, keeping what the first pass set (first
 * value wins) and matching `Match host` against the HostName found so far — as
 * OpenSSH does, except that host names are never canonicalised here.
 */
export function readSshConfig(file: string, lookup: SshConfigLookup): SshHostConfig {
  const result: SshHostConfig = { identityFiles: [], skippedMatchExec: [] };
  const includeBase = lookup.includeBase ?? join(homedir(), '.ssh');
  const first: ParseState = {
    lookup,
    result,
    includeBase,
    finalPass: false,
    wantFinalPass: false,
  };
  parseFile(file, first, true, 0);
  if (first.wantFinalPass) {
    const skipped = result.skippedMatchExec.length;
    const final: ParseState = { lookup, result, includeBase, finalPass: true, wantFinalPass: true };
    parseFile(file, final, true, 0);
    // A skipped `Match exec` is reported once, not once per pass.
    const again = new Set(result.skippedMatchExec.slice(0, skipped));
    result.skippedMatchExec = [
      ...result.skippedMatchExec.slice(0, skipped),
      ...result.skippedMatchExec.slice(skipped).filter((entry) => !again.has(entry)),
    ];
  }
  return result;
}

/** The user's default ssh_config, when there is one. */
export function defaultSshConfigFile(): string | undefined {
  const file = join(homedir(), '.ssh', 'config');
  return existsSync(file) ? file : undefined;
}

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
