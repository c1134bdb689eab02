import { type StringCommand, sh } from '@infra/core';
import { defineFact } from './fact.js';
import { parseSystemdUnits, type SystemdUnit } from './systemd-facts.js';

/** Which systemd manager: the system's (default), or a user's (`systemctl --user`). */
export interface SystemdScope {
  /** The user's manager (`systemctl --user`) instead of the system's. */
  readonly userMode?: boolean | string;
  /** With userMode: this user's manager (`--machine=NAME@.host`), not the connecting user's. */
  readonly userName?: string;
}

const on = (value: boolean | string | undefined) =>
  value === true || (typeof value === 'string' && value.toLowerCase() === 'true');

/**
 * `systemctl`, `systemctl --user` or `systemctl --user --machine=NAME@.host` (which
 * needs the system D-Bus). `--user` alone finds the manager by XDG_RUNTIME_DIR, which
 * a non-login session (ssh exec, docker exec) lacks: it defaults to /run/user/UID.
 */
export function systemctlFor(scope: SystemdScope): StringCommand {
  if (!on(scope.userMode)) return sh`systemctl`;
  return scope.userName
    ? sh`systemctl --user --machine=${`${scope.userName}@.host`}`
    : sh`XDG_RUNTIME_DIR="\${XDG_RUNTIME_DIR:-/run/user/$(id -u)}" systemctl --user`;
}

const SEPARATOR = '--infra-unit-files--';

export const systemdScopedUnitsFact = defineFact<
  SystemdScope,
  Record<string, SystemdUnit>,
  'systemd.scopedUnits'
>({
  name: 'systemd.scopedUnits',
  description:
    "systemd units of the system's or (userMode) a user's manager: load, active, sub and unit file state.",
  argNames: ['userMode', 'userName'],
  optionalArgs: ['userMode', 'userName'],
  command: (scope) => {
    const systemctl = systemctlFor(scope);
    return sh`${systemctl} list-units --all --plain --no-legend --no-pager && echo ${SEPARATOR} && ${systemctl} list-unit-files --no-legend --no-pager`;
  },
  parse: (output) => parseSystemdUnits(output.stdoutLines),
});

/** Unit file states that start the unit at boot (or login, for a user's manager). */
const ENABLED = ['enabled', 'enabled-runtime', 'alias'];

export const systemdEnabledFact = defineFact<
  Record<string, never>,
  Record<string, boolean>,
  'systemd.enabled'
>({
  name: 'systemd.enabled',
  description:
    "Whether each of the system manager's unit files is enabled (systemctl list-unit-files): unit -> true/false. A user manager's: systemd.scopedUnits' unitFileState.",
  argNames: [],
  command: () => sh`systemctl list-unit-files --no-legend --no-pager`,
  parse: (output) => {
    const enabled: Record<string, boolean> = {};
    for (const line of output.stdoutLines) {
      const [unit, state] = line.trim().split(/\s+/);
      if (unit?.includes('.') && state) enabled[unit] = ENABLED.includes(state);
    }
    return enabled;
  },
});
