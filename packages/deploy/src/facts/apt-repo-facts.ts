import { sh } from '@infra/core';
import { keysOf, type OpenPgpKey } from '../operations/openpgp-keys.js';
import { defineFact } from './fact.js';

type NoArgs = Record<string, never>;

/** One apt source, from a one-line `.list` entry or a deb822 `.sources` stanza. */
export interface AptSource {
  readonly file: string;
  readonly format: 'one-line' | 'deb822';
  /** `deb`, `deb-src`. */
  readonly types: string[];
  readonly uris: string[];
  readonly suites: string[];
  readonly components: string[];
  /** The keyring (path) or inline key of `Signed-By` / `[signed-by=...]`, when given. */
  readonly signedBy?: string;
  readonly architectures?: string[];
  /** False for `Enabled: no` stanzas. */
  readonly enabled: boolean;
  /** Every other option, by its deb822 field name (`Trusted`, `Check-Valid-Until`). */
  readonly options: Record<string, string>;
}

const FILE_MARK = '==> ';

/** One-line option names (`arch`, `signed-by`) -> deb822 field names. */
const ONE_LINE_OPTION: Record<string, string> = {
  arch: 'Architectures',
  lang: 'Languages',
  target: 'Targets',
  pdiffs: 'PDiffs',
  'by-hash': 'By-Hash',
  'allow-insecure': 'Allow-Insecure',
  'allow-weak': 'Allow-Weak',
  'allow-downgrade-to-insecure': 'Allow-Downgrade-To-Insecure',
  trusted: 'Trusted',
  'signed-by': 'Signed-By',
  'check-valid-until': 'Check-Valid-Until',
  'valid-until-min': 'Valid-Until-Min',
  'valid-until-max': 'Valid-Until-Max',
  'check-date': 'Check-Date',
  'date-max-future': 'Date-Max-Future',
  'inrelease-path': 'InRelease-Path',
};

function sourceOf(
  file: string,
  format: AptSource['format'],
  fields: Record<string, string>,
): AptSource {
  const words = (key: string) => (fields[key] ?? '').split(/\s+/).filter((w) => w !== '');
  const options: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (
      !['Types', 'URIs', 'Suites', 'Components', 'Signed-By', 'Architectures', 'Enabled'].includes(
        key,
      )
    ) {
      options[key] = value;
    }
  }
  return {
    file,
    format,
    types: words('Types'),
    uris: words('URIs'),
    suites: words('Suites'),
    components: words('Components'),
    ...(fields['Signed-By'] !== undefined ? { signedBy: fields['Signed-By'] } : {}),
    ...(fields.Architectures !== undefined ? { architectures: words('Architectures') } : {}),
    enabled: !/^(no|false|0)$/i.test(fields.Enabled ?? 'yes'),
    options,
  };
}

/** Read a one-line entry: `deb [arch=amd64 signed-by=/k.gpg] URI SUITE COMPONENT...`. */
export function parseOneLineSource(file: string, line: string): AptSource | undefined {
  const match = /^\s*(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)\s*$/.exec(line);
  if (!match) return undefined;
  const fields: Record<string, string> = {
    Types: match[1] ?? '',
    URIs: match[3] ?? '',
    Suites: match[4] ?? '',
    Components: (match[5] ?? '').trim(),
  };
  for (const option of (match[2] ?? '').trim().split(/\s+/)) {
    const at = option.indexOf('=');
    if (at <= 0) continue;
    const key = option.slice(0, at);
    fields[ONE_LINE_OPTION[key] ?? key] = option.slice(at + 1).replace(/,/g, ' ');
  }
  return sourceOf(file, 'one-line', fields);
}

/** Read deb822 stanzas (blank-line separated `Field: value`, continuation lines indented). */
export function parseDeb822(text: string): Record<string, string>[] {
  const stanzas: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  let last: string | undefined;
  const flush = () => {
    if (Object.keys(current).length > 0) stanzas.push(current);
    current = {};
    last = undefined;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.startsWith('#')) continue;
    if (/^\s/.test(line) && last !== undefined) {
      const more = line.trim() === '.' ? '' : line.trim();
      current[last] = `${current[last]}\n${more}`;
      continue;
    }
    const at = line.indexOf(':');
    if (at <= 0) continue;
    last = line.slice(0, at).trim();
    current[last] = line.slice(at + 1).trim();
  }
  flush();
  return stanzas;
}

/** Read what the apt.sources command printed: `==> FILE` lines, each followed by the file. */
export function parseAptSources(lines: readonly string[]): AptSource[] {
  const sources: AptSource[] = [];
  const files: { file: string; lines: string[] }[] = [];
  for (const line of lines) {
    if (line.startsWith(FILE_MARK)) files.push({ file: line.slice(FILE_MARK.length), lines: [] });
    else files.at(-1)?.lines.push(line);
  }
  for (const { file, lines: content } of files) {
    if (file.endsWith('.sources')) {
      for (const stanza of parseDeb822(content.join('\n'))) {
        sources.push(sourceOf(file, 'deb822', stanza));
      }
    } else {
      for (const line of content) {
        const source = parseOneLineSource(file, line.replace(/#.*$/, ''));
        if (source) sources.push(source);
      }
    }
  }
  return sources;
}

export const aptSourcesFact = defineFact<NoArgs, AptSource[], 'apt.sources'>({
  name: 'apt.sources',
  description:
    'apt sources from /etc/apt/sources.list and sources.list.d (one-line .list and deb822 .sources): file, types, URIs, suites, components, Signed-By, options.',
  argNames: [],
  command: () =>
    sh`for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do if [ -f "$f" ]; then echo ${FILE_MARK}"$f"; cat -- "$f"; echo; fi; done`,
  parse: (output) => parseAptSources(output.stdoutLines),
});

/** The folders apt reads keyrings from (Signed-By targets and the trusted.gpg.d fallback). */
export const APT_KEYRING_DIRS = [
  '/etc/apt/keyrings',
  '/etc/apt/trusted.gpg.d',
  '/usr/share/keyrings',
];

/** Keyring path -> its keys; a file that is no OpenPGP keyring has `error` instead. */
export type AptKeyrings = Record<string, OpenPgpKey[] | { readonly error: string }>;

/** Read `==> FILE` lines each followed by the file's base64 (one line). */
export function parseAptKeys(lines: readonly string[]): AptKeyrings {
  const keyrings: AptKeyrings = {};
  let file: string | undefined;
  for (const line of lines) {
    if (line.startsWith(FILE_MARK)) {
      file = line.slice(FILE_MARK.length);
      keyrings[file] = [];
      continue;
    }
    if (file === undefined || line.trim() === '') continue;
    try {
      keyrings[file] = keysOf(Buffer.from(line.trim(), 'base64'));
    } catch (error) {
      keyrings[file] = { error: error instanceof Error ? error.message : String(error) };
    }
    file = undefined;
  }
  return keyrings;
}

export const aptKeysFact = defineFact<NoArgs, AptKeyrings, 'apt.keys'>({
  name: 'apt.keys',
  description: `OpenPGP keyrings apt can use (/etc/apt/trusted.gpg and the files in ${APT_KEYRING_DIRS.join(', ')}): path -> keys (fingerprint, key id, user IDs), read without gpg.`,
  argNames: [],
  // The globs are APT_KEYRING_DIRS', written out: a quoted folder would not expand.
  command: () =>
    sh`for f in /etc/apt/trusted.gpg /etc/apt/keyrings/* /etc/apt/trusted.gpg.d/* /usr/share/keyrings/*; do if [ -f "$f" ]; then echo ${FILE_MARK}"$f"; base64 < "$f" | tr -d '\\n'; echo; fi; done`,
  parse: (output) => parseAptKeys(output.stdoutLines),
});

/** A .deb file's package name, version and architecture (dpkg-deb -f), or null when there is no file. */
export interface DebInfo {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
}

export const aptDebFileFact = defineFact<{ path: string }, DebInfo | null, 'apt.debFile'>({
  name: 'apt.debFile',
  description:
    'The package in the .deb at `path` (dpkg-deb -f): name, version, architecture; null when the file is missing.',
  argNames: ['path'],
  command: ({ path }) =>
    sh`if [ -f ${path} ]; then dpkg-deb -f ${path} Package Version Architecture; else echo absent; fi`,
  parse: (output) => {
    if (output.stdout.trim() === 'absent') return null;
    const fields: Record<string, string> = {};
    for (const line of output.stdoutLines) {
      const at = line.indexOf(':');
      if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trim();
    }
    return {
      name: fields.Package ?? '',
      version: fields.Version ?? '',
      architecture: fields.Architecture ?? '',
    };
  },
});

/** What `apt-get -s COMMAND` would do: packages installed/upgraded (`Inst`) and removed (`Remv`). */
export interface AptSimulation {
  readonly install: string[];
  readonly remove: string[];
}

export function parseAptSimulation(lines: readonly string[]): AptSimulation {
  const install: string[] = [];
  const remove: string[] = [];
  for (const line of lines) {
    const match = /^(Inst|Remv) (\S+)/.exec(line);
    if (!match?.[2]) continue;
    (match[1] === 'Inst' ? install : remove).push(match[2]);
  }
  return { install, remove };
}

export type AptSimulatedCommand = 'upgrade' | 'dist-upgrade' | 'autoremove';

export const aptSimulateFact = defineFact<
  { command: AptSimulatedCommand },
  AptSimulation,
  'apt.simulate'
>({
  name: 'apt.simulate',
  description:
    'What `apt-get -s upgrade|dist-upgrade|autoremove` would do (nothing is changed): packages to install/upgrade and to remove.',
  argNames: ['command'],
  command: ({ command }) => {
    if (!['upgrade', 'dist-upgrade', 'autoremove'].includes(command)) {
      throw new TypeError(
        `apt.simulate: command ${JSON.stringify(command)} is not one of upgrade, dist-upgrade, autoremove.`,
      );
    }
    return sh`LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get -s ${command}`;
  },
  parse: (output) => parseAptSimulation(output.stdoutLines),
});
