import { basename } from 'node:path';
import { type StringCommand, sh, toStringCommand } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { hostnameFact } from '../facts/server-facts.js';
import { defineOperation } from '../operation.js';
import { commandSteps, required } from './attributes.js';

export interface ShellArgs {
  /** Shell commands, run in order with `sh -c`; a `StringCommand` from `sh\`\`` keeps its quoting. */
  commands: string | StringCommand | readonly (string | StringCommand)[];
}

function commandList(args: ShellArgs): (string | StringCommand)[] {
  const list = Array.isArray(args.commands) ? [...args.commands] : [args.commands];
  if (list.length === 0 || list.some((c) => c === '' || c === undefined)) {
    throw new OperationArgumentError(
      'server.shell',
      'commands is empty: give at least one command.',
    );
  }
  return list as (string | StringCommand)[];
}

export const shellOperation = defineOperation<ShellArgs, 'server.shell'>({
  name: 'server.shell',
  argNames: ['commands'],
  description: 'Run shell commands. Always a change: a shell command cannot say it did nothing.',
  label: (args) => {
    const list = Array.isArray(args.commands) ? args.commands : [args.commands];
    return `server.shell ${list.map(String).join('; ')}`;
  },
  plan: async (_context, args) => ({
    steps: commandSteps(
      // A user's shell text is the command itself, used as written.
      commandList(args).map((c) => toStringCommand(c)),
    ),
  }),
});

export interface ScriptArgs {
  /** A local script file, uploaded and run with `sh`. */
  src: string;
  /** Arguments for the script, each quoted. */
  args?: readonly string[];
}

export const scriptOperation = defineOperation<ScriptArgs, 'server.script'>({
  name: 'server.script',
  argNames: ['src', 'args'],
  description: 'Upload a local script to a temporary file, run it, remove it. Always a change.',
  label: (args) => `server.script ${args.src}`,
  plan: async (_context, args) => {
    const src = required('server.script', 'src', args.src);
    const remote = `/tmp/infra-script-${process.pid}-${Date.now()}-${basename(src).replace(/[^A-Za-z0-9._-]/g, '_')}`;
    return {
      steps: [
        { kind: 'upload' as const, src, dest: remote, mode: 0o700 },
        ...commandSteps([
          sh`sh ${remote} ${args.args ?? []}; code=$?; rm -f ${remote}; exit $code`,
        ]),
      ],
    };
  },
});

export interface HostnameArgs {
  hostname: string;
}

export const hostnameOperation = defineOperation<HostnameArgs, 'server.hostname'>({
  name: 'server.hostname',
  argNames: ['hostname'],
  description: 'Set the host name (`hostname NAME` and /etc/hostname) when it differs.',
  label: (args) => `server.hostname ${args.hostname}`,
  plan: async (context, args) => {
    const hostname = required('server.hostname', 'hostname', args.hostname);
    const current = await context.fact(hostnameFact, {});
    if (current === hostname) return { steps: [] };
    return {
      steps: commandSteps([sh`hostname ${hostname} && echo ${hostname} > /etc/hostname`]),
    };
  },
});
