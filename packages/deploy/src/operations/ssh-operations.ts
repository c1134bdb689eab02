import { readFile } from 'node:fs/promises';
import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { directoryFact, fileFact } from '../facts/file-facts.js';
import { usersFact } from '../facts/server-facts.js';
import { knownHostFact, knownHostName } from '../facts/ssh-facts.js';
import { defineOperation, type OperationStep, type PlanContext } from '../operation.js';
import { attributeCommands, commandSteps, flag, integerOf, required } from './attributes.js';

export interface KeyscanArgs {
  /** The host whose keys are added. */
  hostname: string;
  /** Its ssh port (default 22). */
  port?: number | string;
  /** Replace the keys known already (default false: a known host is no change). */
  force?: boolean | string;
}

/** The commands that add a host's keys to the connecting user's known_hosts. */
export function keyscanCommands(hostname: string, port: number, replace: boolean): StringCommand[] {
  if (hostname.startsWith('-')) {
    throw new OperationArgumentError(
      'ssh.keyscan',
      `hostname ${JSON.stringify(hostname)} is not a host name.`,
    );
  }
  const name = knownHostName(hostname, port);
  return [
    sh`command -v ssh-keyscan >/dev/null 2>&1 || { echo ${'ssh-keyscan is not installed on this host: install OpenSSH client tools (Debian: openssh-client).'} >&2; exit 127; }`,
    sh`mkdir -p "$HOME/.ssh" && chmod 700 "$HOME/.ssh"`,
    ...(replace
      ? [sh`ssh-keygen -R ${name} -f "$HOME/.ssh/known_hosts" >/dev/null 2>&1 || true`]
      : []),
    sh`keys=$(ssh-keyscan -p ${String(port)} ${hostname} 2>/dev/null) && [ -n "$keys" ] && printf '%s\n' "$keys" >> "$HOME/.ssh/known_hosts" || { echo ${`ssh-keyscan found no key for ${name}`} >&2; exit 1; }`,
  ];
}

export const keyscanOperation = defineOperation<KeyscanArgs, 'ssh.keyscan'>({
  name: 'ssh.keyscan',
  argNames: ['hostname', 'port', 'force'],
  description:
    "Add a host's ssh keys (ssh-keyscan) to the user's ~/.ssh/known_hosts unless it is known; `force` replaces them.",
  label: (args) => `ssh.keyscan ${args.hostname}`,
  plan: async (context, args) => {
    const hostname = required('ssh.keyscan', 'hostname', args.hostname);
    const port = integerOf('ssh.keyscan', 'port', args.port) ?? 22;
    const known = await context.fact(knownHostFact, { hostname, port });
    const force = flag(args.force, false);
    if (known && !force) return { steps: [] };
    return { steps: commandSteps(keyscanCommands(hostname, port, known)) };
  },
});

export interface AuthorizedKeysArgs {
  /** The user whose keys these are. */
  user: string;
  /** Public key lines (`ssh-ed25519 AAAA... comment`), or local files holding them. */
  publicKeys: string | readonly string[];
  /** The group of .ssh and the file (default: the user's primary group). */
  group?: string;
  /** Remove keys not in `publicKeys` (default false: only add). */
  deleteKeys?: boolean | string;
  /** Default: ~user/.ssh. */
  authorizedKeyDirectory?: string;
  /** Default: authorized_keys. */
  authorizedKeyFilename?: string;
}

/** A key's identity: its type and base64 body, without options or comment. */
export function keyIdentity(line: string): string | undefined {
  const tokens = line.trim().split(/\s+/);
  const at = tokens.findIndex((t) => /^(ssh-|ecdsa-|sk-)/.test(t));
  return at === -1 || tokens[at + 1] === undefined ? undefined : `${tokens[at]} ${tokens[at + 1]}`;
}

async function keyLines(values: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  for (const value of values) {
    if (keyIdentity(value) !== undefined) {
      lines.push(value.trim());
      continue;
    }
    const text = await readFile(value, 'utf8').catch(() => {
      throw new OperationArgumentError(
        'server.userAuthorizedKeys',
        `${JSON.stringify(value)} is neither a public key line nor a readable local file.`,
      );
    });
    lines.push(...text.split('\n').filter((line) => keyIdentity(line) !== undefined));
  }
  return lines.map((line) => line.trim());
}

/** The authorized_keys text: `wanted` added to `current` (or instead of it with `only`). */
export function authorizedKeysText(
  current: string,
  wanted: readonly string[],
  only: boolean,
): string {
  const keep = only ? [] : current.split('\n').filter((line) => line.trim() !== '');
  const have = new Set(keep.map(keyIdentity));
  const lines = [...keep];
  for (const line of wanted) {
    const id = keyIdentity(line);
    if (!have.has(id)) {
      lines.push(line);
      have.add(id);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

async function planAuthorizedKeys(context: PlanContext, args: AuthorizedKeysArgs) {
  const user = required('server.userAuthorizedKeys', 'user', args.user);
  const keys = args.publicKeys ?? [];
  const wanted = await keyLines(
    (typeof keys === 'string' ? keys.split('\n') : [...keys]).filter((k) => k.trim() !== ''),
  );
  const info = (await context.fact(usersFact, {}))[user];
  if (info === undefined && !context.dry) {
    throw new OperationArgumentError(
      'server.userAuthorizedKeys',
      `there is no user ${user} on ${context.host}.`,
    );
  }
  const group = args.group ?? info?.group ?? user;
  const dir = args.authorizedKeyDirectory ?? `${info?.home ?? `/home/${user}`}/.ssh`;
  const file = `${dir.replace(/\/+$/, '')}/${args.authorizedKeyFilename ?? 'authorized_keys'}`;
  const dirInfo = await context.fact(directoryFact, { path: dir });
  const fileInfo = await context.fact(fileFact, { path: file });
  if (fileInfo !== null && fileInfo.type !== 'file') {
    throw new OperationArgumentError(
      'server.userAuthorizedKeys',
      `${file} is a ${fileInfo.type}, not a file.`,
    );
  }
  const current = fileInfo === null ? '' : (await context.readFile(file)).toString('utf8');
  const text = authorizedKeysText(current, wanted, flag(args.deleteKeys, false));
  const owner = { user, group };
  const steps: OperationStep[] = [];
  if (dirInfo === null) steps.push(...commandSteps([sh`mkdir -p -- ${dir}`]));
  steps.push(...commandSteps(attributeCommands(dir, dirInfo, { mode: 0o700, ...owner })));
  if (fileInfo === null || text !== current) {
    steps.push({ kind: 'upload', src: Buffer.from(text), dest: file, mode: 0o600 });
    steps.push(...commandSteps(attributeCommands(file, null, owner)));
  } else {
    steps.push(...commandSteps(attributeCommands(file, fileInfo, { mode: 0o600, ...owner })));
  }
  return { steps };
}

export const userAuthorizedKeysOperation = defineOperation<
  AuthorizedKeysArgs,
  'server.userAuthorizedKeys'
>({
  name: 'server.userAuthorizedKeys',
  argNames: [
    'user',
    'publicKeys',
    'group',
    'deleteKeys',
    'authorizedKeyDirectory',
    'authorizedKeyFilename',
  ],
  description:
    'Authorize ssh public keys for a user (added, or exactly these with `deleteKeys`); .ssh 700 and the file 600, owned by the user.',
  label: (args) => `server.userAuthorizedKeys ${args.user}`,
  plan: planAuthorizedKeys,
});
