import { sh } from '@infra/core';
import { defineFact } from './fact.js';

type NoArgs = Record<string, never>;

/** Read `sysctl -a` (`key = value`): whitespace inside values becomes one space. */
export function parseSysctl(lines: readonly string[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf('=');
    if (at <= 0) continue;
    values[line.slice(0, at).trim()] = line
      .slice(at + 1)
      .trim()
      .replace(/\s+/g, ' ');
  }
  return values;
}

/** `net.ipv4.ip_forward` -> `/proc/sys/net/ipv4/ip_forward` (a `/` in a key stands for a `.`, as sysctl's). */
export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'))}`;
}

export const sysctlFact = defineFact<NoArgs, Record<string, string>, 'server.sysctl'>({
  name: 'server.sysctl',
  description:
    'Kernel parameters as they are now (sysctl -a): key -> value, whitespace as one space.',
  argNames: [],
  command: () => sh`sysctl -a 2>/dev/null || true`,
  parse: (output) => parseSysctl(output.stdoutLines),
});

export const sysctlKeysFact = defineFact<
  { keys: string | readonly string[] },
  Record<string, string>,
  'server.sysctlKeys'
>({
  name: 'server.sysctlKeys',
  description:
    'The kernel parameters `keys` as they are now, read from /proc/sys (no sysctl needed): key -> value; a key that is not there is left out.',
  argNames: ['keys'],
  command: ({ keys }) => {
    const list = (typeof keys === 'string' ? keys.split(/[\s,]+/) : [...keys]).filter(
      (key) => key !== '',
    );
    if (list.length === 0) return sh`true`;
    const reads = list.map(
      (key) =>
        sh`if [ -r ${sysctlPath(key)} ]; then printf '%s = %s\n' ${key} "$(tr '\n\t' '  ' < ${sysctlPath(key)})"; fi`,
    );
    return reads.reduce((all, read) => sh`${all}; ${read}`);
  },
  parse: (output) => parseSysctl(output.stdoutLines),
});

/** One mounted file system (/proc/mounts). */
export interface MountInfo {
  readonly device: string;
  readonly type: string;
  readonly options: string[];
}

/** `/proc/mounts` escapes space, tab, newline and backslash as octal (`\040`). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

/** Read /proc/mounts (or fstab) lines: path -> device, type, options; a path mounted twice keeps the top one. */
export function parseMounts(lines: readonly string[]): Record<string, MountInfo> {
  const mounts: Record<string, MountInfo> = {};
  for (const line of lines) {
    if (line.trim().startsWith('#')) continue;
    const [device, path, type, options = 'defaults'] = line.trim().split(/\s+/);
    if (!device || !path || !type) continue;
    mounts[unescapeMountField(path)] = {
      device: unescapeMountField(device),
      type,
      options: options.split(','),
    };
  }
  return mounts;
}

export const mountsFact = defineFact<NoArgs, Record<string, MountInfo>, 'server.mounts'>({
  name: 'server.mounts',
  description: 'Mounted file systems (/proc/mounts): path -> device, type, options.',
  argNames: [],
  command: () => sh`cat /proc/mounts`,
  parse: (output) => parseMounts(output.stdoutLines),
});

/**
 * The time zone: where /etc/localtime points under zoneinfo, else /etc/timezone,
 * else null (UTC by default).
 */
export const timezoneFact = defineFact<NoArgs, string | null, 'server.timezone'>({
  name: 'server.timezone',
  description:
    'The time zone name (/etc/localtime -> zoneinfo/NAME, else /etc/timezone); null when neither says.',
  argNames: [],
  command: () =>
    sh`l=$(readlink /etc/localtime 2>/dev/null); case "$l" in */zoneinfo/*) echo "\${l##*/zoneinfo/}";; *) cat /etc/timezone 2>/dev/null || true;; esac`,
  parse: (output) => output.stdout.trim() || null,
});

/** `en_US.UTF-8` and `en_US.utf8` name the same locale: compare them this way. */
export function normalizeLocale(name: string): string {
  const [lang = '', rest] = name.split('.', 2);
  if (rest === undefined) return lang;
  const [charset = '', modifier] = rest.split('@', 2);
  const normal = `${lang}.${charset.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
  return modifier === undefined ? normal : `${normal}@${modifier}`;
}

export const localesFact = defineFact<NoArgs, string[], 'server.locales'>({
  name: 'server.locales',
  description: 'The locales generated on the host (locale -a), as it prints them (en_US.utf8).',
  argNames: [],
  command: () => sh`locale -a 2>/dev/null || true`,
  parse: (output) => output.stdoutLines.map((line) => line.trim()).filter((line) => line !== ''),
});

export const kernelModulesFact = defineFact<NoArgs, string[], 'server.kernelModules'>({
  name: 'server.kernelModules',
  description: 'Loaded kernel modules (/proc/modules).',
  argNames: [],
  command: () => sh`cat /proc/modules 2>/dev/null || true`,
  parse: (output) =>
    output.stdoutLines.map((line) => line.split(' ')[0] ?? '').filter((name) => name !== ''),
});
