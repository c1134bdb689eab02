import { type StringCommand, sh, toStringCommand } from '@infra/core';
import { defineFact } from './fact.js';

type NoArgs = Record<string, never>;

/** What /etc/os-release says about the Linux distribution. */
export interface LinuxDistribution {
  /** `NAME`, e.g. "Debian GNU/Linux". */
  readonly name: string;
  /** `ID`, e.g. "debian", "alpine", "fedora". */
  readonly id: string;
  /** `ID_LIKE`, split: e.g. ["rhel", "fedora"]. */
  readonly idLike: string[];
  /** `VERSION_ID`, e.g. "12"; null on rolling releases. */
  readonly version: string | null;
  /** The version's first and second numbers, when it has them. */
  readonly major: number | null;
  readonly minor: number | null;
  /** `VERSION_CODENAME`, e.g. "bookworm"; null when not given. */
  readonly codename: string | null;
  /** Every key of the file, as written. */
  readonly releaseMeta: Record<string, string>;
}

/** Read os-release text: `KEY=value` lines, values optionally quoted with " or '. */
export function parseOsRelease(text: string): LinuxDistribution | null {
  const meta: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!match?.[1]) continue;
    let value = match[2] ?? '';
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["$`\\])/g, '$1');
    }
    meta[match[1]] = value;
  }
  if (Object.keys(meta).length === 0) return null;
  const version = meta.VERSION_ID ?? null;
  const [major, minor] = (version ?? '').split('.').map((part) => Number.parseInt(part, 10));
  return {
    name: meta.NAME ?? meta.ID ?? 'Linux',
    id: meta.ID ?? 'linux',
    idLike: (meta.ID_LIKE ?? '').split(/\s+/).filter((id) => id !== ''),
    version,
    major: major !== undefined && !Number.isNaN(major) ? major : null,
    minor: minor !== undefined && !Number.isNaN(minor) ? minor : null,
    codename: meta.VERSION_CODENAME || null,
    releaseMeta: meta,
  };
}

export const linuxDistributionFact = defineFact<
  NoArgs,
  LinuxDistribution | null,
  'server.linuxDistribution'
>({
  name: 'server.linuxDistribution',
  description:
    'The distribution from /etc/os-release (or /usr/lib/os-release): name, id, idLike, version, major, minor, codename; null when there is none.',
  argNames: [],
  command: () => sh`cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null || true`,
  parse: (output) => parseOsRelease(output.stdout),
});

export interface CommandArgs {
  /** Shell text, run as written with `sh -c` (a `StringCommand` from `sh\`\`` keeps its quoting). */
  readonly command: string | StringCommand;
}

export const commandFact = defineFact<CommandArgs, string, 'server.command'>({
  name: 'server.command',
  description:
    'What a command prints on stdout (trimmed): a read-only probe, never counted as a change. A non-zero exit is an error.',
  argNames: ['command'],
  command: ({ command }) => toStringCommand(command),
  parse: (output) => output.stdout.trim(),
});

/**
 * TCP ports in LISTEN state, from /proc/net/tcp and tcp6 (the port is the hex after
 * the local address's colon; state 0A is LISTEN), else from `netstat -an`.
 */
export const LISTENING_PORTS_COMMAND = sh`if [ -r /proc/net/tcp ]; then awk 'FNR > 1 && $4 == "0A" { n = split($2, a, ":"); print "hex " a[n] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; else netstat -an 2>/dev/null | grep LISTEN; fi; true`;

/** The listening TCP ports in what `LISTENING_PORTS_COMMAND` printed, sorted, each once. */
export function parseListeningPorts(lines: readonly string[]): number[] {
  const ports = new Set<number>();
  for (const line of lines) {
    const hex = /^hex ([0-9A-Fa-f]+)$/.exec(line.trim());
    if (hex?.[1]) {
      ports.add(Number.parseInt(hex[1], 16));
      continue;
    }
    // netstat: "tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN" or BSD's "*.22".
    const local = line.trim().split(/\s+/)[3];
    const port = local ? /[.:](\d+)$/.exec(local)?.[1] : undefined;
    if (port) ports.add(Number(port));
  }
  return [...ports].sort((a, b) => a - b);
}

export const listeningPortsFact = defineFact<NoArgs, number[], 'server.listeningPorts'>({
  name: 'server.listeningPorts',
  description: 'TCP ports something listens on (any address), from /proc/net/tcp{,6} or netstat.',
  argNames: [],
  command: () => LISTENING_PORTS_COMMAND,
  parse: (output) => parseListeningPorts(output.stdoutLines),
});
