import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InfraError } from '@infra/core';
import { matchPatternList } from './ssh-config.js';

/** One line of a known_hosts file. */
export interface KnownHostsEntry {
  readonly file: string;
  /** 1-based line number, for messages that say where to fix. */
  readonly line: number;
  readonly marker: 'revoked' | 'cert-authority' | undefined;
  /** The host patterns (comma-separated in the file); a hashed entry has one `|1|salt|hash`. */
  readonly patterns: readonly string[];
  readonly keyType: string;
  /** The key blob (base64-decoded). */
  readonly key: Buffer;
}

/** The server's key is not the one known_hosts has for it. */
export class HostKeyChangedError extends InfraError {
  constructor(message: string) {
    super('HOST_KEY_CHANGED', message);
  }
}

/** The server's key is marked `@revoked`, or the host is unknown under strict checking. */
export class HostKeyRejectedError extends InfraError {
  constructor(message: string) {
    super('HOST_KEY_REJECTED', message);
  }
}

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprintSha256(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ssh-rsa`, ...). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return key.subarray(4, 4 + length).toString('latin1');
}

/** How a host is named in known_hosts: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Parse known_hosts text; malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string, file: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostsEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields[0] === '@revoked' ? 'revoked' : 'cert-authority';
      fields.shift();
    } else if (fields[0]?.startsWith('@')) {
      return; // an unknown marker: OpenSSH ignores the line
    }
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) return;
    const key = Buffer.from(keyBase64, 'base64');
    if (key.length === 0) return;
    entries.push({ file, line: index + 1, marker, patterns: hosts.split(','), keyType, key });
  });
  return entries;
}

function hashedMatch(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || salt === undefined || hash === undefined) return false;
  const expected = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.equals(Buffer.from(hash, 'base64'));
}

/** True when an entry's host patterns name this host (plain, hashed, wildcards, negations). */
export function entryMatchesHost(entry: KnownHostsEntry, name: string): boolean {
  const first = entry.patterns[0];
  if (entry.patterns.length === 1 && first?.startsWith('|')) return hashedMatch(first, name);
  return matchPatternList(entry.patterns, name);
}

export type HostKeyCheck =
  | { status: 'known'; entry: KnownHostsEntry }
  | { status: 'revoked'; entry: KnownHostsEntry }
  | { status: 'changed'; entries: KnownHostsEntry[] }
  | { status: 'unknown'; otherTypes: KnownHostsEntry[] };

/** Look a host's presented key up in known_hosts entries. */
export function checkHostKey(
  entries: readonly KnownHostsEntry[],
  name: string,
  key: Buffer,
): HostKeyCheck {
  const forHost = entries.filter((entry) => entryMatchesHost(entry, name));
  const revoked = forHost.find((entry) => entry.marker === 'revoked' && entry.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((entry) => entry.marker === undefined);
  const known = plain.find((entry) => entry.key.equals(key));
  if (known) return { status: 'known', entry: known };
  const type = keyTypeOf(key);
  const sameType = plain.filter((entry) => entry.keyType === type);
  if (sameType.length > 0) return { status: 'changed', entries: sameType };
  return { status: 'unknown', otherTypes: plain };
}

/** Parsed files by path, kept while their size and modification time stay the same. */
const parsedFiles = new Map<string, { stamp: string; entries: KnownHostsEntry[] }>();

function readKnownHostsFile(file: string): KnownHostsEntry[] {
  const stats = statSync(file, { throwIfNoEntry: false });
  if (!stats) {
    parsedFiles.delete(file);
    return [];
  }
  // Every host checks its key here: with many hosts, parse each file once, not once a host.
  const stamp = `${stats.size}:${stats.mtimeMs}:${stats.ino}`;
  const cached = parsedFiles.get(file);
  if (cached?.stamp === stamp) return cached.entries;
  const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
  parsedFiles.set(file, { stamp, entries });
  return entries;
}

/** Read and parse known_hosts files; missing files count as empty. */
export function readKnownHosts(files: readonly string[]): KnownHostsEntry[] {
  return files.flatMap(readKnownHostsFile);
}

const appendLocks = new Map<string, Promise<void>>();

/**
 * Append a host's key to a known_hosts file in one `O_APPEND` write, unless an
 * entry for that host and key is already there (re-read just before writing).
 * Existing lines are never rewritten. Appends to one file are serialised in
 * this process, so hosts connecting at once do not duplicate lines.
 */
export async function appendKnownHost(file: string, name: string, key: Buffer): Promise<boolean> {
  const previous = appendLocks.get(file) ?? Promise.resolve();
  let added = false;
  const task = previous.then(async () => {
    const text = existsSync(file) ? await readFile(file, 'utf8') : '';
    const already = parseKnownHosts(text, file).some(
      (entry) =>
        entry.marker === undefined && entryMatchesHost(entry, name) && entry.key.equals(key),
    );
    if (already) return;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const prefix = text !== '' && !text.endsWith('\n') ? '\n' : '';
    const line = `${prefix}${name} ${keyTypeOf(key)} ${key.toString('base64')}\n`;
    await appendFile(file, line, { mode: 0o600, flag: 'a' });
    added = true;
  });
  const settled = task.catch(() => {});
  appendLocks.set(file, settled);
  try {
    await task;
  } finally {
    if (appendLocks.get(file) === settled) appendLocks.delete(file);
  }
  return added;
}

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';

export interface HostKeyPolicy {
  /** The files to look in; new keys go to the first. */
  readonly files: readonly string[];
  readonly strict: StrictHostKeyChecking;
  /** The host as connected to (after ssh_config HostName) and its port. */
  readonly host: string;
  readonly port: number;
}

function describeEntry(entry: KnownHostsEntry): string {
  return `${entry.file}:${entry.line}`;
}

/**
 * Decide on a server's host key: resolves when it may be used (appending it under
 * accept-new), throws `HostKeyChangedError` / `HostKeyRejectedError` with both
 * fingerprints and the file and line to fix otherwise. A changed key under
 * `ssh_strict_host_key_checking: no` resolves `'changed'` after `warn` got
 * OpenSSH's warning (both fingerprints): the caller must then refuse password and
 * keyboard-interactive authentication, as OpenSSH does.
 */
export async function verifyHostKey(
  policy: HostKeyPolicy,
  key: Buffer,
  warn: (message: string) => void = () => {},
): Promise<'known' | 'added' | 'accepted' | 'changed'> {
  const name = knownHostsName(policy.host, policy.port);
  const check = checkHostKey(readKnownHosts(policy.files), name, key);
  if (check.status === 'known') return 'known';
  const presented = fingerprintSha256(key);
  switch (check.status) {
    case 'revoked':
      throw new HostKeyRejectedError(
        `the host key of ${name} (${keyTypeOf(key)} ${presented}) is marked @revoked in ${describeEntry(check.entry)}; refusing to connect.`,
      );
    case 'changed': {
      const expected = check.entries
        .map(
          (entry) => `${entry.keyType} ${fingerprintSha256(entry.key)} (${describeEntry(entry)})`,
        )
        .join(', ');
      const first = check.entries[0]!;
      if (policy.strict === 'no') {
        warn(
          `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${name}! The server offered ${keyTypeOf(key)} ${presented}, known_hosts expects ${expected}. ` +
            `Someone could be intercepting the connection (man in the middle), or the host was reinstalled. ssh_strict_host_key_checking is "no", so the connection goes on, ` +
            `but password and keyboard-interactive authentication are disabled to avoid man-in-the-middle attacks (keys and the agent may still log in). ` +
            `If the change is expected, remove line ${first.line} of ${first.file} (ssh-keygen -R '${name}' -f ${first.file}).`,
        );
        return 'changed';
      }
      throw new HostKeyChangedError(
        `the host key of ${name} has CHANGED: the server offered ${keyTypeOf(key)} ${presented}, known_hosts expects ${expected}. ` +
          `Someone could be intercepting the connection, or the host was reinstalled. If the change is expected, remove line ${first.line} of ${first.file} ` +
          `(ssh-keygen -R '${name}' -f ${first.file}) and connect again.`,
      );
    }
    case 'unknown': {
      if (policy.strict === 'no') return 'accepted';
      const file = policy.files[0];
      if (policy.strict === 'yes' || file === undefined) {
        throw new HostKeyRejectedError(
          `${name} is not in known_hosts (${policy.files.join(', ') || 'no file'}) and ssh_strict_host_key_checking is "yes": the server offered ${keyTypeOf(key)} ${presented}. ` +
            `Add it (ssh-keyscan -p ${policy.port} ${policy.host} >> ${file ?? '~/.ssh/known_hosts'}, after checking the fingerprint) or set ssh_strict_host_key_checking to "accept-new".`,
        );
      }
      await appendKnownHost(file, name, key);
      return 'added';
    }
  }
}
