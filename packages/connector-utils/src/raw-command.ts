import { Writable } from 'node:stream';
import {
  type CommandInput,
  type CommandResult,
  type ConnectorArguments,
  isSuccess,
  OutputCollector,
  type OutputLine,
  sudoPasswordOf,
  toStringCommand,
  withSudoPasswordStdin,
} from '@infra/core';
import { makeShellInvocation } from './shell-invocation.js';
import { runStoppable } from './timing.js';
import type { RunRaw } from './transport.js';

export interface RunOnceOptions {
  onOutput?: ((line: OutputLine) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Raw stdout bytes go here (never ended) instead of into the output lines. */
  stdoutSink?: Writable | undefined;
}

function collectInto(push: (chunk: Buffer) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      push(chunk);
      callback();
    },
  });
}

/**
 * One run of a command through a transport: core's command builder makes
 * `SHELL -c SCRIPT` (env, chdir, sudo / su / doas, every value quoted), a sudo
 * password goes first on stdin, output lines are collected and streamed, and a
 * timeout or abort stops the transport's command by the one rule (`runStoppable`).
 */
export async function runCommandOnce(
  runRaw: RunRaw,
  command: CommandInput,
  args: ConnectorArguments,
  options: RunOnceOptions = {},
): Promise<CommandResult> {
  const { shell, script } = makeShellInvocation(command, args);
  const shownCommand = String(toStringCommand(command));
  const collector = new OutputCollector(options.onOutput);
  return runStoppable(
    { shownCommand, timeout: args.timeout, signal: options.signal },
    async (signal) => {
      const exit = await runRaw(
        {
          shell,
          script: script.getRawValue(),
          hasSecrets: script.hasSecrets(),
          shownCommand,
          stdin: withSudoPasswordStdin(args, args.stdin),
          passwordOnStdin: sudoPasswordOf(args) !== undefined,
          timeout: args.timeout,
          getPty: args.getPty,
        },
        {
          stdout: options.stdoutSink ?? collectInto((chunk) => collector.stdout.push(chunk)),
          stderr: collectInto((chunk) => collector.stderr.push(chunk)),
          signal,
        },
      );
      return {
        success: isSuccess(exit.exitCode, exit.signal, args.successExitCodes),
        output: collector.finish(exit.exitCode, exit.signal),
      };
    },
  );
}
