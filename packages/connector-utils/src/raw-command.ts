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
import {
  becomeKillArguments,
  makeRunTagKillScript,
  needsBecomeKill,
  newRunTag,
  withRunTag,
} from './become-stop.js';
import { makeShellInvocation } from './shell-invocation.js';
import { runStoppable } from './timing.js';
import type { RunRaw } from './transport.js';

export interface RunOnceOptions {
  onOutput?: ((line: OutputLine) => void) | undefined;
  signal?: AbortSignal | undefined;
  /** Raw stdout bytes go here (never ended) instead of into the output lines. */
  stdoutSink?: Writable | undefined;
  /**
   * On a stop (timeout, abort) of a command that switches user, first SIGKILL its
   * processes as the become user (`makeRunTagKillScript`), then fire the transport's
   * signal: for a transport whose own kill runs as the login user (ssh).
   */
  killBecomeOnStop?: boolean | undefined;
  /**
   * Where that kill runs instead, as the login user there and without the user
   * switch: a machine that sees the target's processes (the one a chroot or
   * nsenter target is entered from, where /proc is sure to be mounted).
   */
  killFrom?: RunRaw | undefined;
  /** The command as messages show it, when not the command itself (a transport's wrapper around it). */
  shownCommand?: string | undefined;
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
  const tag =
    options.killBecomeOnStop && needsBecomeKill(args, options.signal) ? newRunTag() : undefined;
  const { shell, script } = makeShellInvocation(command, tag ? withRunTag(args, tag) : args);
  const shownCommand = options.shownCommand ?? String(toStringCommand(command));
  const collector = new OutputCollector(options.onOutput);
  const beforeStop = tag
    ? async () => {
        const killer = options.killFrom;
        await runCommandOnce(
          killer ?? runRaw,
          makeRunTagKillScript(tag),
          killer ? { timeout: becomeKillArguments(args).timeout } : becomeKillArguments(args),
        );
      }
    : undefined;
  return runStoppable(
    { shownCommand, timeout: args.timeout, signal: options.signal, beforeStop },
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
