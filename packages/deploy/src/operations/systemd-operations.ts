import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { type SystemdUnit, systemdUnitsFact } from '../facts/systemd-facts.js';
import { defineOperation } from '../operation.js';
import { commandSteps, flag, required } from './attributes.js';

export interface ServiceArgs {
  /** The unit: `nginx` means `nginx.service`; other types need their suffix (`x.timer`). */
  service: string;
  /** Started (true) or stopped (false); unset leaves it as it is. */
  running?: boolean | string;
  /** Restart it (always a change, unless this operation just started it). */
  restarted?: boolean | string;
  /** Reload it (always a change, unless this operation just started it). */
  reloaded?: boolean | string;
  /** Enabled at boot (true) or not (false); unset leaves it as it is. */
  enabled?: boolean | string;
  /** `systemctl daemon-reload` first (always a change), after a unit file changed. */
  daemonReload?: boolean | string;
}

/** `nginx` -> `nginx.service`; a name with a unit suffix stays as it is. */
export function unitName(service: string): string {
  return /\.(service|socket|timer|target|mount|path|slice|scope|device|swap|automount)$/.test(
    service,
  )
    ? service
    : `${service}.service`;
}

/** The systemctl commands that bring `unit` (as found, or undefined) to what `args` want. */
export function serviceCommands(
  unit: string,
  found: SystemdUnit | undefined,
  args: Omit<ServiceArgs, 'service'>,
): StringCommand[] {
  const commands: StringCommand[] = [];
  if (flag(args.daemonReload, false)) commands.push(sh`systemctl daemon-reload`);
  const active = found?.active === 'active' || found?.active === 'activating';
  const running = args.running === undefined ? undefined : flag(args.running, true);
  let started = false;
  if (running === true && !active) {
    commands.push(sh`systemctl start ${unit}`);
    started = true;
  } else if (running === false && active) {
    commands.push(sh`systemctl stop ${unit}`);
  }
  if (running !== false && !started) {
    if (flag(args.restarted, false)) commands.push(sh`systemctl restart ${unit}`);
    else if (flag(args.reloaded, false)) commands.push(sh`systemctl reload ${unit}`);
  }
  if (args.enabled !== undefined) {
    const enabled = flag(args.enabled, true);
    const state = found?.unitFileState ?? null;
    if (enabled && state !== 'enabled' && state !== 'enabled-runtime') {
      commands.push(sh`systemctl enable ${unit}`);
    } else if (!enabled && (state === 'enabled' || state === 'enabled-runtime')) {
      commands.push(sh`systemctl disable ${unit}`);
    }
  }
  return commands;
}

export const serviceOperation = defineOperation<ServiceArgs, 'systemd.service'>({
  name: 'systemd.service',
  argNames: ['service', 'running', 'restarted', 'reloaded', 'enabled', 'daemonReload'],
  description:
    'Start/stop, restart/reload and enable/disable a systemd unit, by the systemd.units fact.',
  label: (args) => `systemd.service ${args.service}`,
  plan: async (context, args) => {
    const unit = unitName(required('systemd.service', 'service', args.service));
    const units = await context.fact(systemdUnitsFact, {});
    const found = units[unit];
    // A unit installed by an earlier operation is not there yet in the plan pass.
    if ((found === undefined || found.load === 'not-found') && !context.dry) {
      throw new OperationArgumentError(
        'systemd.service',
        `${unit} is not a unit systemd knows on ${context.host}: install it first, or check the name (systemctl list-unit-files).`,
      );
    }
    return { steps: commandSteps(serviceCommands(unit, found, args)) };
  },
});
