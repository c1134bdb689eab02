import { sh } from '@infra/core';
import { defineFact } from './fact.js';

type NoArgs = Record<string, never>;

/** The init systems `server.service` knows. */
export type InitSystem = 'systemd' | 'openrc' | 'sysvinit';

export const initSystemFact = defineFact<NoArgs, InitSystem | null, 'server.initSystem'>({
  name: 'server.initSystem',
  description:
    'The running init system: systemd (when /run/systemd/system exists, as sd_booted checks), openrc (rc-service), sysvinit (/etc/init.d); null for none of them.',
  argNames: [],
  command: () =>
    sh`if [ -d /run/systemd/system ]; then echo systemd; elif command -v rc-service >/dev/null 2>&1; then echo openrc; elif [ -d /etc/init.d ]; then echo sysvinit; else echo none; fi`,
  parse: (output) => {
    const found = output.stdout.trim();
    return found === 'systemd' || found === 'openrc' || found === 'sysvinit' ? found : null;
  },
});

/** A service of a script-based init system: whether it exists, runs, starts at boot. */
export interface ScriptServiceStatus {
  /** False when there is no such service (no init script). */
  readonly exists: boolean;
  readonly running: boolean;
  readonly enabled: boolean;
}

export interface ServiceNameArgs {
  readonly service: string;
}

function parseStatus(lines: readonly string[]): ScriptServiceStatus {
  return {
    exists: !lines.includes('missing'),
    running: lines.includes('running'),
    enabled: lines.includes('enabled'),
  };
}

export const sysvinitStatusFact = defineFact<
  ServiceNameArgs,
  ScriptServiceStatus,
  'sysvinit.status'
>({
  name: 'sysvinit.status',
  description:
    'A SysV init service: its /etc/init.d script exists, `status` exits 0 (running), an S link in /etc/rc[2-5].d (enabled).',
  argNames: ['service'],
  command: ({ service }) =>
    sh`s=${service}; if [ ! -x "/etc/init.d/$s" ]; then echo missing; elif "/etc/init.d/$s" status >/dev/null 2>&1; then echo running; else echo stopped; fi; for l in /etc/rc[2345].d/S[0-9][0-9]"$s"; do if [ -e "$l" ]; then echo enabled; break; fi; done`,
  parse: (output) => parseStatus(output.stdoutLines),
});

export const openrcStatusFact = defineFact<
  ServiceNameArgs & { runlevel?: string },
  ScriptServiceStatus,
  'openrc.status'
>({
  name: 'openrc.status',
  description:
    'An OpenRC service: it exists (rc-service -e), `rc-service NAME status` exits 0 (running), it is in the runlevel (default: default) of rc-update.',
  argNames: ['service', 'runlevel'],
  command: ({ service, runlevel }) =>
    sh`s=${service}; if ! rc-service -e "$s"; then echo missing; elif rc-service "$s" status >/dev/null 2>&1; then echo running; else echo stopped; fi; if rc-update show ${runlevel ?? 'default'} 2>/dev/null | awk '{ print $1 }' | grep -qx -- "$s"; then echo enabled; fi`,
  parse: (output) => parseStatus(output.stdoutLines),
});
