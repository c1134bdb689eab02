import { sh } from '@infra/core';
import { defineFact } from './fact.js';

type NoArgs = Record<string, never>;

/** One systemd unit as `systemctl list-units` and `list-unit-files` describe it. */
export interface SystemdUnit {
  /** `loaded`, `not-found`, `masked`, ...; null when the unit is not loaded. */
  readonly load: string | null;
  /** `active`, `inactive`, `failed`, `activating`, ...; `inactive` when not loaded. */
  readonly active: string;
  /** `running`, `exited`, `dead`, ...; `dead` when not loaded. */
  readonly sub: string;
  /** `enabled`, `disabled`, `static`, `masked`, ...; null when there is no unit file. */
  readonly unitFileState: string | null;
}

const SEPARATOR = '--infra-unit-files--';

/**
 * Read `systemctl list-units --all --plain --no-legend` (UNIT LOAD ACTIVE SUB
 * DESCRIPTION), then a separator line, then `systemctl list-unit-files
 * --no-legend` (UNIT STATE [PRESET]). A leading `●` (failed units) is dropped.
 */
export function parseSystemdUnits(lines: readonly string[]): Record<string, SystemdUnit> {
  const units: Record<string, SystemdUnit> = {};
  const at = lines.indexOf(SEPARATOR);
  const listed = at === -1 ? lines : lines.slice(0, at);
  const files = at === -1 ? [] : lines.slice(at + 1);
  for (const line of listed) {
    const [name, load, active, sub] = line
      .replace(/^[\s●*]+/, '')
      .trim()
      .split(/\s+/);
    if (!name || !load || !active || !sub || !name.includes('.')) continue;
    units[name] = { load, active, sub, unitFileState: null };
  }
  for (const line of files) {
    const [name, state] = line.trim().split(/\s+/);
    if (!name || !state || !name.includes('.')) continue;
    const loaded = units[name];
    units[name] = loaded
      ? { ...loaded, unitFileState: state }
      : { load: null, active: 'inactive', sub: 'dead', unitFileState: state };
  }
  return units;
}

export const systemdUnitsFact = defineFact<NoArgs, Record<string, SystemdUnit>, 'systemd.units'>({
  name: 'systemd.units',
  description:
    'systemd units (list-units --all and list-unit-files): load, active, sub state and unit file state.',
  argNames: [],
  command: () =>
    sh`systemctl list-units --all --plain --no-legend --no-pager && echo ${SEPARATOR} && systemctl list-unit-files --no-legend --no-pager`,
  parse: (output) => parseSystemdUnits(output.stdoutLines),
});

export const whichFact = defineFact<{ command: string }, string | null, 'server.which'>({
  name: 'server.which',
  description: 'Where `command` is on the PATH (`command -v`), or null when it is not.',
  argNames: ['command'],
  command: ({ command }) => sh`command -v ${command} || true`,
  parse: (output) => output.stdout.trim().split('\n')[0] || null,
});

export type { NoArgs };
