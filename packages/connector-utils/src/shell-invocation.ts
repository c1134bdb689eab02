import {
  type CommandInput,
  type FileOptions,
  makeUnixCommand,
  type StringCommand,
  type UnixCommandArguments,
} from '@infra/core';

/** True when the arguments switch user (sudo / su / doas). */
export function usesBecome(args: Pick<UnixCommandArguments, 'sudo' | 'suUser' | 'doas'>): boolean {
  return Boolean(args.sudo || args.doas || args.suUser !== undefined);
}

/** The user-switching arguments of a file operation, for the file scripts. */
export function becomeArguments(options: FileOptions): UnixCommandArguments {
  return {
    sudo: options.sudo,
    sudoUser: options.sudoUser,
    useSudoLogin: options.useSudoLogin,
    sudoPassword: options.sudoPassword,
    preserveSudoEnv: options.preserveSudoEnv,
    suUser: options.suUser,
    useSuLogin: options.useSuLogin,
    preserveSuEnv: options.preserveSuEnv,
    suShell: options.suShell,
    doas: options.doas,
    doasUser: options.doasUser,
    // The scripts are POSIX shell: never run them without one.
    shellExecutable: options.shellExecutable ?? 'sh',
  };
}

/** How a become user is named in messages: `sudo -u web`, `su web`, `doas`. */
export function describeBecome(
  args: Pick<UnixCommandArguments, 'sudo' | 'sudoUser' | 'suUser' | 'doas' | 'doasUser'>,
): string {
  if (args.suUser !== undefined) return `su ${args.suUser}`;
  if (args.sudo) return `sudo${args.sudoUser === undefined ? '' : ` -u ${args.sudoUser}`}`;
  if (args.doas) return `doas${args.doasUser === undefined ? '' : ` -u ${args.doasUser}`}`;
  return 'the login user';
}

/**
 * What a transport runs for a command: the program and the script for its `-c`
 * (core's command builder quotes every value). Without a user switch the shell
 * runs the command itself (`sh -c CMD`, one exec less than `sh -c 'sh -c CMD'`);
 * with sudo / su / doas, `sh -c` runs the full wrapped command.
 */
export function makeShellInvocation(
  command: CommandInput,
  args: UnixCommandArguments,
): { shell: string; script: StringCommand } {
  const shell = args.shellExecutable === undefined ? 'sh' : args.shellExecutable;
  if (shell !== null && !usesBecome(args)) {
    return { shell, script: makeUnixCommand(command, { ...args, shellExecutable: null }) };
  }
  return { shell: 'sh', script: makeUnixCommand(command, args) };
}
