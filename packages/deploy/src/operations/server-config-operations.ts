import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { fileFact } from '../facts/file-facts.js';
import {
  kernelModulesFact,
  localesFact,
  mountsFact,
  normalizeLocale,
  sysctlKeysFact,
  sysctlPath,
  timezoneFact,
} from '../facts/system-config-facts.js';
import { defineOperation, type OperationStep } from '../operation.js';
import { commandSteps, flag, listOf, required } from './attributes.js';
import { planLineEdit, setLine } from './text-lines.js';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface SysctlArgs {
  /** The parameter, e.g. `net.ipv4.ip_forward`. */
  key: string;
  /** Its value; a list for parameters of several numbers (`[32768, 60999]`). */
  value: string | number | readonly (string | number)[];
  /** Also write `key = value` in `persistFile`, read at boot. */
  persist?: boolean | string;
  /** Default /etc/sysctl.d/99-infra.conf. */
  persistFile?: string;
}

export const SYSCTL_FILE = '/etc/sysctl.d/99-infra.conf';

/** `[32768, 60999]` -> `32768 60999`. */
export function sysctlValue(value: SysctlArgs['value']): string {
  const text = Array.isArray(value) ? value.join(' ') : String(value);
  return text.trim().replace(/\s+/g, ' ');
}

export const sysctlOperation = defineOperation<SysctlArgs, 'server.sysctl'>({
  name: 'server.sysctl',
  argNames: ['key', 'value', 'persist', 'persistFile'],
  description:
    'Set a kernel parameter now (sysctl -w) when it differs, and with persist in /etc/sysctl.d.',
  label: (args) => `server.sysctl ${args.key}=${sysctlValue(args.value ?? '')}`,
  plan: async (context, args) => {
    const key = required('server.sysctl', 'key', args.key);
    if (!/^[\w./-]+$/.test(key)) {
      throw new OperationArgumentError(
        'server.sysctl',
        `key ${JSON.stringify(key)} is not a sysctl name: expected e.g. net.ipv4.ip_forward.`,
      );
    }
    const value = sysctlValue(required('server.sysctl', 'value', args.value));
    if (/[\n\r]/.test(value)) {
      throw new OperationArgumentError('server.sysctl', 'value must be one line.');
    }
    const live = (await context.fact(sysctlKeysFact, { keys: [key] }))[key];
    if (live === undefined) {
      throw new OperationArgumentError(
        'server.sysctl',
        `${key} is not a kernel parameter on ${context.host} (no ${sysctlPath(key)}): check the name, or load its module first.`,
      );
    }
    // The live value first: when the kernel refuses it, the persisted file stays as it was.
    const steps: OperationStep[] =
      live === value
        ? []
        : commandSteps([
            sh`if command -v sysctl >/dev/null 2>&1; then sysctl -w ${`${key}=${value}`}; else echo ${value} > ${sysctlPath(key)}; fi`,
          ]);
    if (flag(args.persist, false)) {
      const file = args.persistFile ?? SYSCTL_FILE;
      const pattern = new RegExp(`^\\s*${escapeRegExp(key)}\\s*=`);
      const matches = (line: string) => pattern.test(line);
      const plan = await planLineEdit('server.sysctl', context, file, (lines) => {
        const found = lines.filter(matches);
        const current = found[0]?.slice(found[0].indexOf('=') + 1) ?? '';
        if (found.length === 1 && sysctlValue(current) === value) return null;
        return setLine(lines, matches, `${key} = ${value}`);
      });
      steps.push(...plan.steps);
    }
    return { steps };
  },
});

export interface ModprobeArgs {
  module: string;
  /** Loaded (default) or unloaded (modprobe -r). */
  present?: boolean | string;
  /** modprobe -f. */
  force?: boolean | string;
}

export const modprobeOperation = defineOperation<ModprobeArgs, 'server.modprobe'>({
  name: 'server.modprobe',
  argNames: ['module', 'present', 'force'],
  description: 'Load (modprobe) or unload (modprobe -r) a kernel module, by /proc/modules.',
  label: (args) => `server.modprobe ${args.module}`,
  plan: async (context, args) => {
    const module = required('server.modprobe', 'module', args.module);
    const loaded = (await context.fact(kernelModulesFact, {})).includes(module.replace(/-/g, '_'));
    const present = flag(args.present, true);
    const force = flag(args.force, false) ? sh`-f ` : sh``;
    if (present && !loaded) return { steps: commandSteps([sh`modprobe ${force}${module}`]) };
    if (!present && loaded) return { steps: commandSteps([sh`modprobe ${force}-r ${module}`]) };
    return { steps: [] };
  },
});

export interface MountArgs {
  /** The mount point. */
  path: string;
  /** What to mount (`/dev/sdb1`, `UUID=...`, `tmpfs`, a folder for a bind mount). */
  device?: string;
  /** `ext4`, `tmpfs`, `none` (bind mounts), ... */
  fsType?: string;
  /** Mount options (`['noatime', 'size=64m']` or `noatime,size=64m`). */
  options?: string | readonly string[];
  /** Mounted now (default true) or not. */
  mounted?: boolean | string;
  /** An /etc/fstab entry: true keeps one (needs device and fsType), false removes it; unset leaves fstab alone. */
  fstab?: boolean | string;
}

/** A space in fstab is `\040`, as in /proc/mounts. */
function fstabField(text: string): string {
  return text.replace(/\\/g, '\\134').replace(/ /g, '\\040').replace(/\t/g, '\\011');
}

/** `8m` -> 8388608: the kernel lists `size=8m` as `size=8192k`. */
function sizeOf(text: string): number | undefined {
  const match = /^(\d+)([kmgt]?)$/i.exec(text);
  if (!match) return undefined;
  const unit = 'kmgt'.indexOf((match[2] ?? '').toLowerCase()) + 1;
  return Number(match[1]) * 1024 ** unit;
}

/** The same option, or `key=value` with the same size written another way. */
export function sameMountOption(wanted: string, has: string): boolean {
  if (wanted === has) return true;
  const [wk, wv] = wanted.split('=', 2);
  const [hk, hv] = has.split('=', 2);
  if (wk !== hk || wv === undefined || hv === undefined) return false;
  const size = sizeOf(wv);
  return size !== undefined && size === sizeOf(hv);
}

/** The commands that bring `path`'s mount to what `args` want, given /proc/mounts. */
export function mountCommands(
  args: MountArgs,
  current: { options: readonly string[] } | undefined,
  options: readonly string[],
): StringCommand[] {
  const mounted = flag(args.mounted, true);
  const { path } = args;
  if (!mounted) return current ? [sh`umount ${path}`] : [];
  if (!current) {
    const type = args.fsType ? sh`-t ${args.fsType} ` : sh``;
    const opts = options.length > 0 ? sh`-o ${options.join(',')} ` : sh``;
    return args.device
      ? [sh`mkdir -p ${path} && mount ${type}${opts}${args.device} ${path}`]
      : [sh`mount ${path}`];
  }
  const missing = options.filter(
    (o) => o !== 'defaults' && !current.options.some((has) => sameMountOption(o, has)),
  );
  return missing.length > 0 ? [sh`mount -o ${['remount', ...options].join(',')} ${path}`] : [];
}

export const mountOperation = defineOperation<MountArgs, 'server.mount'>({
  name: 'server.mount',
  argNames: ['path', 'device', 'fsType', 'options', 'mounted', 'fstab'],
  description:
    'A file system mounted (or not) at path, by /proc/mounts (remounted when options are missing), and its /etc/fstab entry kept or removed.',
  label: (args) => `server.mount ${args.path}`,
  plan: async (context, args) => {
    const path = required('server.mount', 'path', args.path);
    if (!path.startsWith('/')) {
      throw new OperationArgumentError('server.mount', `path ${path} is not absolute.`);
    }
    const options = listOf(args.options);
    const steps: OperationStep[] = [];
    if (args.fstab !== undefined) {
      const keep = flag(args.fstab, true);
      let line: string | null = null;
      if (keep) {
        const device = required('server.mount', 'device (for fstab: true)', args.device);
        const fsType = required('server.mount', 'fsType (for fstab: true)', args.fsType);
        line = [
          fstabField(device),
          fstabField(path),
          fsType,
          options.length > 0 ? options.join(',') : 'defaults',
          '0',
          '0',
        ].join(' ');
      }
      const escaped = fstabField(path);
      const same = (entry: string) =>
        !entry.trim().startsWith('#') && entry.trim().split(/\s+/)[1] === escaped;
      const plan = await planLineEdit('server.mount', context, '/etc/fstab', (lines) => {
        const found = lines.find(same);
        if (line !== null && found !== undefined && found.trim().split(/\s+/).join(' ') === line) {
          return null;
        }
        return setLine(lines, same, line);
      });
      steps.push(...plan.steps);
    }
    const current = (await context.fact(mountsFact, {}))[path];
    steps.push(...commandSteps(mountCommands({ ...args, path }, current, options)));
    return { steps };
  },
});

export interface TimezoneArgs {
  /** A zoneinfo name: `Europe/Berlin`, `UTC`. */
  timezone: string;
}

export const timezoneOperation = defineOperation<TimezoneArgs, 'server.timezone'>({
  name: 'server.timezone',
  argNames: ['timezone'],
  description:
    'Point /etc/localtime at /usr/share/zoneinfo/NAME (and write /etc/timezone where it exists), as timedatectl does.',
  label: (args) => `server.timezone ${args.timezone}`,
  plan: async (context, args) => {
    const timezone = required('server.timezone', 'timezone', args.timezone);
    if (!/^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/.test(timezone)) {
      throw new OperationArgumentError(
        'server.timezone',
        `timezone ${JSON.stringify(timezone)} is not a zone name: expected e.g. Europe/Berlin or UTC.`,
      );
    }
    if ((await context.fact(timezoneFact, {})) === timezone) return { steps: [] };
    const zone = `/usr/share/zoneinfo/${timezone}`;
    if ((await context.fact(fileFact, { path: zone })) === null) {
      throw new OperationArgumentError(
        'server.timezone',
        `${zone} does not exist on ${context.host}: check the name, or install tzdata.`,
      );
    }
    return {
      steps: commandSteps([
        sh`ln -sfn ${zone} /etc/localtime && if [ -f /etc/timezone ]; then echo ${timezone} > /etc/timezone; fi`,
      ]),
    };
  },
});

export interface LocaleArgs {
  /** As /etc/locale.gen names it: `de_DE.UTF-8`. */
  locale: string;
  /** Generated (default) or not. */
  present?: boolean | string;
}

export const LOCALE_GEN = '/etc/locale.gen';

export const localeOperation = defineOperation<LocaleArgs, 'server.locale'>({
  name: 'server.locale',
  argNames: ['locale', 'present'],
  description:
    'Enable (or comment out) a locale in /etc/locale.gen and run locale-gen, when locale -a says it is missing (or there).',
  label: (args) => `server.locale ${args.locale}`,
  plan: async (context, args) => {
    const locale = required('server.locale', 'locale', args.locale);
    const present = flag(args.present, true);
    if ((await context.fact(fileFact, { path: LOCALE_GEN })) === null) {
      // In the plan pass an earlier operation may be about to install the locales package.
      if (context.dry && present) return { steps: commandSteps([sh`locale-gen`]) };
      throw new OperationArgumentError(
        'server.locale',
        `${LOCALE_GEN} does not exist on ${context.host}: install the locales package first.`,
      );
    }
    const generated = (await context.fact(localesFact, {})).map(normalizeLocale);
    const isGenerated = generated.includes(normalizeLocale(locale));
    const names = (line: string) => line.replace(/^#\s*/, '').trim().split(/\s+/)[0] === locale;
    const plan = await planLineEdit('server.locale', context, LOCALE_GEN, (lines) => {
      const at = lines.findIndex(names);
      if (at === -1) {
        throw new OperationArgumentError(
          'server.locale',
          `${locale} is not in ${LOCALE_GEN} on ${context.host}: expected a name as listed there, e.g. de_DE.UTF-8.`,
        );
      }
      const bare = (lines[at] ?? '').replace(/^#\s*/, '');
      const wanted = present ? bare : `# ${bare}`;
      if (lines[at] === wanted) return null;
      const out = [...lines];
      out[at] = wanted;
      return out;
    });
    const steps: OperationStep[] = [...plan.steps];
    if (steps.length > 0 || present !== isGenerated) {
      steps.push(...commandSteps([sh`locale-gen`]));
    }
    return { steps };
  },
});

export interface SecurityLimitArgs {
  /** `*`, a user, `@group`. */
  domain: string;
  /** `hard`, `soft` or `-` (both). */
  limitType: string;
  /** `nofile`, `nproc`, `core`, ... */
  item: string;
  value: string | number;
  /** Default /etc/security/limits.conf (a file in /etc/security/limits.d works too). */
  path?: string;
}

export const securityLimitOperation = defineOperation<SecurityLimitArgs, 'server.securityLimit'>({
  name: 'server.securityLimit',
  argNames: ['domain', 'limitType', 'item', 'value', 'path'],
  description:
    'A pam_limits line `domain type item value` in /etc/security/limits.conf, replacing the one for the same domain, type and item.',
  label: (args) => `server.securityLimit ${args.domain} ${args.limitType} ${args.item}`,
  plan: async (context, args) => {
    const fields = {
      domain: required('server.securityLimit', 'domain', args.domain),
      limitType: required('server.securityLimit', 'limitType', args.limitType),
      item: required('server.securityLimit', 'item', args.item),
      value: String(required('server.securityLimit', 'value', args.value)),
    };
    if (!['hard', 'soft', '-'].includes(fields.limitType)) {
      throw new OperationArgumentError(
        'server.securityLimit',
        `limitType ${JSON.stringify(fields.limitType)}: expected hard, soft or -.`,
      );
    }
    for (const [name, value] of Object.entries(fields)) {
      if (!/^\S+$/.test(value)) {
        throw new OperationArgumentError(
          'server.securityLimit',
          `${name} ${JSON.stringify(value)} must be one word.`,
        );
      }
    }
    const line = `${fields.domain}\t${fields.limitType}\t${fields.item}\t${fields.value}`;
    const same = (entry: string) => {
      const [d, t, i] = entry.trim().split(/\s+/);
      return d === fields.domain && t === fields.limitType && i === fields.item;
    };
    return planLineEdit(
      'server.securityLimit',
      context,
      args.path ?? '/etc/security/limits.conf',
      (lines) => {
        const found = lines.find(same);
        if (found?.trim().split(/\s+/)[3] === fields.value) return null;
        return setLine(lines, same, line);
      },
    );
  },
});
