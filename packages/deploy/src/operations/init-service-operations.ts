import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import {
  initSystemFact,
  openrcStatusFact,
  type ScriptServiceStatus,
  sysvinitStatusFact,
} from '../facts/init-facts.js';
import { whichFact } from '../facts/systemd-facts.js';
import { defineOperation, type PlanContext } from '../operation.js';
import { commandSteps, flag, required } from './attributes.js';
import { type ServiceArgs, serviceOperation } from './systemd-operations.js';

/** The arguments every init system's `service` operation takes (pyinfra's). */
export interface InitServiceArgs {
  service: string;
  /** Started (true) or stopped (false); unset leaves it as it is. */
  running?: boolean | string;
  /** Restart it (always a change, unless this operation just started it). */
  restarted?: boolean | string;
  /** Reload it (always a change, unless this operation just started it). */
  reloaded?: boolean | string;
  /** Started at boot (true) or not (false); unset leaves it as it is. */
  enabled?: boolean | string;
  /** A custom action to run through the init system, e.g. `rotate` (always a change). */
  command?: string;
}

const SERVICE_ARG_NAMES: (keyof InitServiceArgs)[] = [
  'service',
  'running',
  'restarted',
  'reloaded',
  'enabled',
  'command',
];

/** The commands that bring a script-based service (as found) to what `args` want. */
export function scriptServiceCommands(
  found: ScriptServiceStatus,
  args: Omit<InitServiceArgs, 'service'>,
  control: (action: string) => StringCommand,
  enable: (on: boolean) => StringCommand,
): StringCommand[] {
  const commands: StringCommand[] = [];
  const running = args.running === undefined ? undefined : flag(args.running, true);
  let started = false;
  if (running === true && !found.running) {
    commands.push(control('start'));
    started = true;
  } else if (running === false && found.running) {
    commands.push(control('stop'));
  }
  if (running !== false && !started) {
    if (flag(args.restarted, false)) commands.push(control('restart'));
    else if (flag(args.reloaded, false)) commands.push(control('reload'));
  }
  if (args.command !== undefined && args.command !== '') commands.push(control(args.command));
  if (args.enabled !== undefined) {
    const enabled = flag(args.enabled, true);
    if (enabled !== found.enabled) commands.push(enable(enabled));
  }
  return commands;
}

function refuseMissing(operation: string, context: PlanContext, service: string, where: string) {
  // An init script put in place by an earlier operation is not there yet in the plan pass.
  if (!context.dry) {
    throw new OperationArgumentError(
      operation,
      `${service} is not a service on ${context.host} (no ${where}): install it first, or check the name.`,
    );
  }
}

export const sysvinitServiceOperation = defineOperation<InitServiceArgs, 'sysvinit.service'>({
  name: 'sysvinit.service',
  argNames: SERVICE_ARG_NAMES,
  description:
    'Start/stop, restart/reload and enable/disable (update-rc.d or chkconfig) a SysV init script in /etc/init.d, by its status.',
  label: (args) => `sysvinit.service ${args.service}`,
  plan: async (context, args) => {
    const service = required('sysvinit.service', 'service', args.service);
    if (service.includes('/')) {
      throw new OperationArgumentError(
        'sysvinit.service',
        `service ${JSON.stringify(service)} is not a script name: expected a name in /etc/init.d, without a slash.`,
      );
    }
    const found = await context.fact(sysvinitStatusFact, { service });
    if (!found.exists)
      refuseMissing('sysvinit.service', context, service, `/etc/init.d/${service}`);
    const enableWith =
      args.enabled === undefined
        ? null
        : (await context.fact(whichFact, { command: 'update-rc.d' }))
          ? 'update-rc.d'
          : (await context.fact(whichFact, { command: 'chkconfig' }))
            ? 'chkconfig'
            : null;
    const commands = scriptServiceCommands(
      found,
      args,
      (action) => sh`/etc/init.d/${service} ${action}`,
      (on) => {
        if (enableWith === 'update-rc.d') {
          return on ? sh`update-rc.d ${service} defaults` : sh`update-rc.d -f ${service} remove`;
        }
        if (enableWith === 'chkconfig') return sh`chkconfig ${service} ${on ? 'on' : 'off'}`;
        throw new OperationArgumentError(
          'sysvinit.service',
          `enabled needs update-rc.d or chkconfig on ${context.host}, and it has neither.`,
        );
      },
    );
    return { steps: commandSteps(commands) };
  },
});

export interface OpenrcServiceArgs extends InitServiceArgs {
  /** The runlevel `enabled` adds it to / removes it from (default `default`). */
  runlevel?: string;
}

export const openrcServiceOperation = defineOperation<OpenrcServiceArgs, 'openrc.service'>({
  name: 'openrc.service',
  argNames: [...SERVICE_ARG_NAMES, 'runlevel'],
  description:
    'Start/stop, restart/reload (rc-service) and enable/disable (rc-update, in a runlevel) an OpenRC service, by its status.',
  label: (args) => `openrc.service ${args.service}`,
  plan: async (context, args) => {
    const service = required('openrc.service', 'service', args.service);
    const runlevel = args.runlevel ?? 'default';
    const found = await context.fact(openrcStatusFact, { service, runlevel });
    if (!found.exists) refuseMissing('openrc.service', context, service, 'rc-service -e');
    const commands = scriptServiceCommands(
      found,
      args,
      (action) => sh`rc-service ${service} ${action}`,
      (on) => sh`rc-update ${on ? 'add' : 'del'} ${service} ${runlevel}`,
    );
    return { steps: commandSteps(commands) };
  },
});

export const serverServiceOperation = defineOperation<
  InitServiceArgs & ServiceArgs,
  'server.service'
>({
  name: 'server.service',
  argNames: [...SERVICE_ARG_NAMES, 'daemonReload'],
  description:
    'Manage a service through the init system the host runs (systemd, OpenRC or SysV init, by the server.initSystem fact), with the arguments they share.',
  label: (args) => `server.service ${args.service}`,
  plan: async (context, args) => {
    required('server.service', 'service', args.service);
    const init = await context.fact(initSystemFact, {});
    switch (init) {
      case 'systemd':
        if (args.command !== undefined) {
          throw new OperationArgumentError(
            'server.service',
            'command is not a systemd action: use server.shell with systemctl.',
          );
        }
        return serviceOperation.plan(context, args);
      case 'openrc':
        return openrcServiceOperation.plan(context, args);
      case 'sysvinit':
        return sysvinitServiceOperation.plan(context, args);
      default:
        // In the plan pass /etc/init.d may be what an earlier operation is about to create.
        if (context.dry) return sysvinitServiceOperation.plan(context, args);
        throw new OperationArgumentError(
          'server.service',
          `no init system found on ${context.host}: no /run/systemd/system, rc-service or /etc/init.d.`,
        );
    }
  },
});
