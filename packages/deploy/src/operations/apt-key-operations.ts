import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { fileFact } from '../facts/file-facts.js';
import { defineOperation, type PlanContext } from '../operation.js';
import { commandSteps, flag, listOf, required } from './attributes.js';
import { planContent } from './files-operations.js';
import { binaryKey, keysOf } from './openpgp-keys.js';

/** Where apt.key puts keyrings by default, and where apt.repo's `signedBy: NAME` points. */
export const APT_KEYRINGS = '/etc/apt/keyrings';

export interface AptKeyArgs {
  /** The key: a local file, an http(s) URL, or the key itself (armored text or binary bytes). */
  src?: string | Buffer;
  /** With `keyid`: fetch the key from this HKP keyserver (`hkps://keys.openpgp.org`). */
  keyserver?: string;
  /** The key's id or fingerprint: the key must hold it (with `keyserver`: the key to fetch). */
  keyid?: string;
  /** The keyring file: a bare name means `/etc/apt/keyrings/NAME.gpg`; default from `src`'s file name. */
  keyring?: string;
  /** Installed (default) or removed. */
  present?: boolean | string;
}

/** `nginx` -> `/etc/apt/keyrings/nginx.gpg`; a path stays as it is. */
export function keyringPath(keyring: string): string {
  if (keyring.includes('/')) return keyring;
  return `${APT_KEYRINGS}/${keyring.replace(/\.(gpg|asc|pgp|key)$/, '')}.gpg`;
}

function isKeyText(src: string | Buffer): boolean {
  return Buffer.isBuffer(src) || src.includes('-----BEGIN PGP');
}

/** An HKP keyserver's lookup URL for `keyid` (hkp:// is http on port 11371, hkps:// is https). */
export function keyserverUrl(keyserver: string, keyid: string): string {
  const base = keyserver
    .replace(/^hkps:\/\//i, 'https://')
    .replace(/^hkp:\/\/([^/:]+)(\/|$)/i, 'http://$1:11371$2')
    .replace(/^hkp:\/\//i, 'http://')
    .replace(/\/+$/, '');
  const id = keyid.replace(/^0x/i, '').replace(/\s+/g, '');
  return `${base}/pks/lookup?op=get&options=mr&search=0x${id}`;
}

/** Fetch an http(s) URL on the controller (the host needs neither curl nor gpg). */
export async function fetchUrl(operation: string, url: string): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new OperationArgumentError(
      operation,
      `could not fetch ${url}: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}.`,
    );
  }
  if (!response.ok) {
    throw new OperationArgumentError(
      operation,
      `GET ${url} answered ${response.status} ${response.statusText}: expected the file.`,
    );
  }
  return Buffer.from(await response.arrayBuffer());
}

async function keyBytes(args: AptKeyArgs): Promise<{ bytes: Buffer; from: string }> {
  if (args.src === undefined) {
    const keyserver = required('apt.key', 'src (or keyserver)', args.keyserver);
    const url = keyserverUrl(keyserver, required('apt.key', 'keyid', args.keyid));
    return { bytes: await fetchUrl('apt.key', url), from: url };
  }
  const src = args.src;
  if (Buffer.isBuffer(src)) return { bytes: src, from: 'src' };
  if (isKeyText(src)) return { bytes: Buffer.from(src), from: 'src' };
  if (/^https?:\/\//i.test(src)) return { bytes: await fetchUrl('apt.key', src), from: src };
  try {
    return { bytes: await readFile(src), from: src };
  } catch (error) {
    throw new OperationArgumentError(
      'apt.key',
      `src ${src} cannot be read (${(error as NodeJS.ErrnoException).code ?? error}): expected a local key file, an http(s) URL or the armored key itself.`,
    );
  }
}

function defaultKeyring(args: AptKeyArgs): string {
  if (args.keyring) return args.keyring;
  if (typeof args.src === 'string' && !isKeyText(args.src)) {
    const name = basename(args.src.replace(/[?#].*$/, ''));
    if (name !== '') return name;
  }
  throw new OperationArgumentError(
    'apt.key',
    'keyring is required when the key is given as text or by keyserver: e.g. keyring: "nginx" for /etc/apt/keyrings/nginx.gpg.',
  );
}

/** The dearmored key, checked to hold at least one public key (and `keyid`, when given). */
export function checkedKeyring(bytes: Buffer, from: string, keyid: string | undefined): Buffer {
  let binary: Buffer;
  let keys: ReturnType<typeof keysOf>;
  try {
    binary = binaryKey(bytes);
    keys = keysOf(binary);
  } catch (error) {
    throw new OperationArgumentError(
      'apt.key',
      `the key from ${from} is not an OpenPGP public key (${error instanceof Error ? error.message : String(error)}): expected an armored or binary key.`,
    );
  }
  if (!keys.some((key) => !key.subkey)) {
    throw new OperationArgumentError('apt.key', `the key from ${from} holds no public key.`);
  }
  if (keyid !== undefined) {
    const id = keyid.replace(/^0x/i, '').replace(/\s+/g, '').toUpperCase();
    if (!keys.some((key) => key.fingerprint.endsWith(id) || key.fingerprint.startsWith(id))) {
      throw new OperationArgumentError(
        'apt.key',
        `the key from ${from} does not hold keyid ${keyid}: it holds ${keys.map((k) => k.fingerprint).join(', ')}.`,
      );
    }
  }
  return binary;
}

export const aptKeyOperation = defineOperation<AptKeyArgs, 'apt.key'>({
  name: 'apt.key',
  argNames: ['src', 'keyserver', 'keyid', 'keyring', 'present'],
  description:
    'Install an apt signing key as a binary keyring in /etc/apt/keyrings (from a file, URL, keyserver or armored text; dearmored here, no gpg or apt-key on the host).',
  label: (args) =>
    `apt.key ${keyringPath(args.keyring ?? (typeof args.src === 'string' && !isKeyText(args.src) ? basename(args.src) : '(key)'))}`,
  plan: async (context, args) => {
    const path = keyringPath(defaultKeyring(args));
    if (!flag(args.present, true)) return removeFile(context, path);
    const { bytes, from } = await keyBytes(args);
    const binary = checkedKeyring(bytes, from, args.keyid);
    return planContent('apt.key', context, binary, path, { mode: 0o644 }, true);
  },
});

async function removeFile(context: PlanContext, path: string) {
  const info = await context.fact(fileFact, { path });
  return { steps: info === null ? [] : commandSteps([sh`rm -f ${path}`]) };
}

export interface AptRepoArgs {
  /** A one-line source (`deb [arch=amd64 signed-by=/k.gpg] URI SUITE COMPONENT...`), written as deb822; or give `uris`. */
  src?: string;
  /** Repository URLs. */
  uris?: string | readonly string[];
  /** Suites (`bookworm`, `stable`; `./` for a flat repository). */
  suites?: string | readonly string[];
  /** Components (`main contrib`); none for a flat repository. */
  components?: string | readonly string[];
  /** `deb` (default), `deb-src`. */
  types?: string | readonly string[];
  /** The keyring: a bare name means `/etc/apt/keyrings/NAME.gpg` (what apt.key wrote). */
  signedBy?: string;
  architectures?: string | readonly string[];
  /** More deb822 fields (`{ 'Check-Valid-Until': 'no' }`). */
  options?: Readonly<Record<string, string>>;
  /** The file: `/etc/apt/sources.list.d/FILENAME.sources`; default from the first URI. */
  filename?: string;
  /** Present (default) or removed. */
  present?: boolean | string;
}

interface RepoFields {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  fields: Record<string, string>;
}

/** Read pyinfra's one-line `src` into deb822 fields. */
function fieldsOfOneLine(src: string): RepoFields {
  const match = /^\s*(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)\s*$/.exec(src);
  if (!match) {
    throw new OperationArgumentError(
      'apt.repo',
      `src ${JSON.stringify(src)} is not a one-line source: expected "deb [options] URI SUITE [COMPONENT...]".`,
    );
  }
  const fields: Record<string, string> = {};
  const names: Record<string, string> = {
    arch: 'Architectures',
    'signed-by': 'Signed-By',
    trusted: 'Trusted',
  };
  for (const option of (match[2] ?? '').trim().split(/\s+/)) {
    const at = option.indexOf('=');
    if (at <= 0) continue;
    const key = option.slice(0, at);
    fields[names[key] ?? key] = option.slice(at + 1).replace(/,/g, ' ');
  }
  return {
    types: [match[1] ?? 'deb'],
    uris: [match[3] ?? ''],
    suites: [match[4] ?? ''],
    components: listOf(match[5]),
    fields,
  };
}

/** The deb822 text apt.repo writes for `args`. */
export function deb822Source(args: AptRepoArgs): string {
  const repo: RepoFields =
    args.src !== undefined
      ? fieldsOfOneLine(args.src)
      : {
          types: listOf(args.types ?? 'deb'),
          uris: listOf(args.uris),
          suites: listOf(args.suites),
          components: listOf(args.components),
          fields: {},
        };
  if (repo.uris.length === 0 || repo.suites.length === 0) {
    throw new OperationArgumentError(
      'apt.repo',
      'give src (a one-line source) or uris and suites (and components, unless the suite is a path such as ./).',
    );
  }
  if (repo.components.length === 0 && !repo.suites.every((suite) => suite.endsWith('/'))) {
    throw new OperationArgumentError(
      'apt.repo',
      `components are required for suite ${repo.suites.join(' ')}: only a suite that ends in / (a flat repository) has none.`,
    );
  }
  const fields: Record<string, string> = {
    Types: repo.types.join(' '),
    URIs: repo.uris.join(' '),
    Suites: repo.suites.join(' '),
  };
  if (repo.components.length > 0) fields.Components = repo.components.join(' ');
  const architectures = args.architectures
    ? listOf(args.architectures).join(' ')
    : repo.fields.Architectures;
  if (architectures) fields.Architectures = architectures;
  const signedBy = args.signedBy ?? repo.fields['Signed-By'];
  if (signedBy) fields['Signed-By'] = keyringPath(signedBy);
  for (const [key, value] of Object.entries({ ...repo.fields, ...args.options })) {
    if (!(key in fields) && key !== 'Signed-By' && key !== 'Architectures') fields[key] = value;
  }
  for (const [key, value] of Object.entries(fields)) {
    if (!/^[A-Za-z][\w-]*$/.test(key) || /[\n\r]/.test(value)) {
      throw new OperationArgumentError(
        'apt.repo',
        `the field ${JSON.stringify(key)}: ${JSON.stringify(value)} cannot be written: expected a field name of letters, digits and - and a one-line value.`,
      );
    }
  }
  return `${Object.entries(fields)
    .map(([key, value]) => `${key}: ${value}`)
    .join('\n')}\n`;
}

/** `http://deb.example.com/debian` -> `deb.example.com-debian`. */
export function sourceFileName(args: AptRepoArgs): string {
  if (args.filename) {
    if (!/^[\w.-]+$/.test(args.filename)) {
      throw new OperationArgumentError(
        'apt.repo',
        `filename ${JSON.stringify(args.filename)} is not a file name: expected letters, digits, . _ - (it goes in /etc/apt/sources.list.d).`,
      );
    }
    return args.filename.replace(/\.(sources|list)$/, '');
  }
  const uri = args.src !== undefined ? fieldsOfOneLine(args.src).uris[0] : listOf(args.uris)[0];
  const name = (uri ?? '')
    .replace(/^[a-z+]+:\/*/i, '')
    .replace(/[^A-Za-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (name === '') {
    throw new OperationArgumentError(
      'apt.repo',
      'filename is required: no URI to name the file after.',
    );
  }
  return name;
}

export const aptRepoOperation = defineOperation<AptRepoArgs, 'apt.repo'>({
  name: 'apt.repo',
  argNames: [
    'src',
    'uris',
    'suites',
    'components',
    'types',
    'signedBy',
    'architectures',
    'options',
    'filename',
    'present',
  ],
  description:
    "An apt repository as a deb822 file /etc/apt/sources.list.d/FILENAME.sources (Signed-By a keyring in /etc/apt/keyrings); pyinfra's one-line src is converted.",
  label: (args) => `apt.repo ${args.filename ?? args.src ?? listOf(args.uris).join(' ')}`,
  plan: async (context, args) => {
    const path = `/etc/apt/sources.list.d/${sourceFileName(args)}.sources`;
    if (!flag(args.present, true)) return removeFile(context, path);
    const text = deb822Source(args);
    return planContent('apt.repo', context, Buffer.from(text), path, { mode: 0o644 }, true);
  },
});
