import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InfraError, type MaskString, type SecretPrompt } from '@infra/core';
import type { AnyAuthMethod, AuthenticationType, AuthHandlerMiddleware, ParsedKey } from 'ssh2';
import ssh2 from 'ssh2';

const { utils } = ssh2;

/** Login failed, or a key cannot be used; the message says what was tried and what to set. */
export class SshAuthError extends InfraError {
  constructor(message: string) {
    super('SSH_AUTH_FAILED', message);
  }
}

/** Asks for a key's passphrase with hidden input (the host's `prompt`, from the CLI). */
export type PassphrasePrompt = SecretPrompt;

export interface AuthSources {
  readonly username: string;
  /** ssh-agent socket, or undefined for none. */
  readonly agentSocket?: string;
  /** Private key files in the order to try them; `explicit` ones fail loudly when unusable. */
  readonly keyFiles: readonly { path: string; explicit: boolean }[];
  readonly keyPassphrase?: MaskString;
  readonly password?: MaskString;
  /**
   * Ask for an encrypted key's passphrase, once a key (the host's `prompt`). Without it
   * (library use, no terminal) an encrypted key without `keyPassphrase` is unusable and
   * its problem names the key file and `ssh_key_password`.
   */
  readonly askPassphrase?: PassphrasePrompt;
}

/** One authentication method to offer, in OpenSSH's order. */
export interface AuthAttempt {
  readonly method: AnyAuthMethod;
  /** How the attempt is named in a failed login's message (`publickey /home/me/.ssh/id_ed25519`). */
  readonly label: string;
}

/** OpenSSH's default identity files, in its order, that exist. */
export function defaultIdentityFiles(): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa']
    .map((name) => join(homedir(), '.ssh', name))
    .filter((path) => existsSync(path));
}

/** Passphrases asked for, kept for the run: each key is asked for once. */
const askedPassphrases = new Map<string, Promise<string>>();

function isEncryptedKeyError(error: Error): boolean {
  return /encrypted|passphrase/i.test(error.message);
}

async function loadKey(
  path: string,
  sources: AuthSources,
): Promise<{ key: ParsedKey } | { problem: string }> {
  let stamp: string;
  try {
    const stats = statSync(path);
    stamp = `${stats.size}:${stats.mtimeMs}:${stats.ino}`;
  } catch (error) {
    return { problem: `cannot read key file ${path}: ${(error as Error).message}` };
  }
  const given = sources.keyPassphrase?.getRawValue();
  // Many hosts log in with the same key file: read, parse (and decrypt) it once.
  const digest = given === undefined ? '' : createHash('sha256').update(given).digest('hex');
  const cacheKey = `${path}\0${stamp}\0${digest}`;
  const cached = parsedKeys.get(cacheKey);
  if (cached) return { key: cached };
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    return { problem: `cannot read key file ${path}: ${(error as Error).message}` };
  }
  const result = await parseKeyFile(path, data, given, sources);
  if ('key' in result) parsedKeys.set(cacheKey, result.key);
  return result;
}

/** Key files parsed so far, by path, size, modification time and passphrase digest. */
const parsedKeys = new Map<string, ParsedKey>();

async function parseKeyFile(
  path: string,
  data: Buffer,
  given: string | undefined,
  sources: AuthSources,
): Promise<{ key: ParsedKey } | { problem: string }> {
  let parsed = utils.parseKey(data, given);
  if (parsed instanceof Error && given === undefined && isEncryptedKeyError(parsed)) {
    const ask = sources.askPassphrase;
    if (ask === undefined) {
      return {
        problem: `key ${path} is encrypted and there is no terminal to ask for its passphrase: set ssh_key_password`,
      };
    }
    let asked = askedPassphrases.get(path);
    if (!asked) {
      asked = ask(`Enter passphrase for key ${path}: `);
      askedPassphrases.set(path, asked);
    }
    parsed = utils.parseKey(data, await asked);
  }
  if (parsed instanceof Error) {
    const hint = isEncryptedKeyError(parsed) ? ' (check ssh_key_password)' : '';
    return { problem: `key ${path} cannot be used: ${parsed.message}${hint}` };
  }
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
  if (!key?.isPrivateKey()) return { problem: `${path} holds no private key` };
  return { key };
}

/**
 * The methods to try, in OpenSSH's order: agent, key files, password,
 * keyboard-interactive (answered with the password). An unusable key that was
 * given explicitly (`ssh_key`) throws `SshAuthError`; other unusable keys are
 * skipped and reported in `problems`.
 */
export async function buildAuthAttempts(
  sources: AuthSources,
): Promise<{ attempts: AuthAttempt[]; problems: string[] }> {
  const { username } = sources;
  const attempts: AuthAttempt[] = [];
  const problems: string[] = [];
  if (sources.agentSocket) {
    attempts.push({
      method: { type: 'agent', username, agent: sources.agentSocket },
      label: `agent (${sources.agentSocket})`,
    });
  }
  const seen = new Set<string>();
  for (const { path, explicit } of sources.keyFiles) {
    if (seen.has(path)) continue;
    seen.add(path);
    const loaded = await loadKey(path, sources);
    if ('problem' in loaded) {
      if (explicit) throw new SshAuthError(loaded.problem);
      problems.push(loaded.problem);
      continue;
    }
    attempts.push({
      method: { type: 'publickey', username, key: loaded.key },
      label: `publickey ${path}`,
    });
  }
  const password = sources.password?.getRawValue();
  if (password !== undefined) {
    attempts.push({ method: { type: 'password', username, password }, label: 'password' });
    attempts.push({
      method: {
        type: 'keyboard-interactive',
        username,
        prompt: (_name, _instructions, _lang, prompts, finish) => {
          finish(prompts.map((p) => (p.echo ? username : password)));
        },
      },
      label: 'keyboard-interactive',
    });
  }
  return { attempts, problems };
}

/**
 * An ssh2 `authHandler` that offers the attempts in order, skipping methods the
 * server does not accept (and password and keyboard-interactive once
 * `passwordBlock.reason` is set), and records what it tried for the error message.
 */
export function makeAuthHandler(
  attempts: readonly AuthAttempt[],
  tried: string[],
  serverMethods: { value: AuthenticationType[] | null },
  passwordBlock: { readonly reason?: string } = {},
): AuthHandlerMiddleware {
  let index = 0;
  return (methodsLeft, _partialSuccess, next) => {
    if (methodsLeft) serverMethods.value = methodsLeft;
    while (index < attempts.length) {
      const attempt = attempts[index++]!;
      const type = attempt.method.type;
      // A server whose host key changed gets no password (OpenSSH's rule).
      if (passwordBlock.reason && (type === 'password' || type === 'keyboard-interactive'))
        continue;
      const accepted =
        !methodsLeft ||
        methodsLeft.includes(type) ||
        (type === 'agent' && methodsLeft.includes('publickey'));
      if (!accepted) continue;
      tried.push(attempt.label);
      next(attempt.method);
      return;
    }
    next(false as unknown as AnyAuthMethod);
  };
}
