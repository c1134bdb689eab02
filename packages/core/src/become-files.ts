import { posix } from 'node:path';
import { type CommandInput, StringCommand, sh } from './command.js';
import type { FileOptions } from './connector.js';
import { refuseNonRegularShell } from './file-kind.js';
import { makeUnixCommand, type UnixCommandArguments } from './unix-command.js';

/**
 * Moving a file as another user (sudo / su / doas) is the same on every connector:
 * the bytes go through a command run as that user, which writes a private
 * temporary file beside the destination and renames it into place.

 *
 * @deprecated Moved to `@infra/connector-utils` (`usesBecome`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function usesBecome(args: Pick<UnixCommandArguments, 'sudo' | 'suUser' | 'doas'>): boolean {
  return Boolean(args.sudo || args.doas || args.suUser !== undefined);
}

/** The user-switching arguments of a file operation, for the become scripts.
 *
 * @deprecated Moved to `@infra/connector-utils` (`becomeArguments`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
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

/** `0o644` -> `0644`, what `chmod` takes.
 *
 * @deprecated Moved to `@infra/connector-utils` (`octalMode`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function octalMode(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new RangeError(`mode ${mode} is not a file mode (expected an integer 0 to 0o7777).`);
  }
  return `0${mode.toString(8)}`;
}

/** A fresh hidden name beside `path`, for the write-then-rename of an atomic replace.
 *
 * @deprecated Moved to `@infra/connector-utils` (`tempPathBeside`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function tempPathBeside(path: string, random: string): string {
  return posix.join(posix.dirname(path), `.${posix.basename(path)}.infra-${random}.tmp`);
}

export interface BecomePutScriptOptions {
  /** The final path, absolute. */
  destPath: string;
  /** A fresh name beside it, removed on every way out of the script. */
  tempPath: string;
  mode: number;
  createParents: boolean;
}

/**
 * The script a become user runs to write its stdin to `destPath` atomically: a
 * private temp file (umask 077) beside it, `chmod`, then `mv` over the old one
 * (refused when that exists and is not a regular file). A
 * trap removes the temp file however the script ends (short of SIGKILL, after which
 * the connector runs `makeRemoveScript`).

 *
 * @deprecated Moved to `@infra/connector-utils` (`makeBecomePutScript`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function makeBecomePutScript(options: BecomePutScriptOptions): StringCommand {
  const mkdir = options.createParents ? sh`mkdir -p ${posix.dirname(options.destPath)} && ` : sh``;
  return StringCommand.of(
    sh`d=${options.destPath};`,
    refuseNonRegularShell('d'),
    sh`; t=${options.tempPath}; trap 'rm -f "$t"' EXIT; trap 'exit 129' HUP INT TERM PIPE; ${mkdir}umask 077 && cat > "$t" && chmod ${octalMode(options.mode)} "$t" && mv -f "$t" "$d"`,
  );
}

/** The script a become user runs to print a file's bytes.
 *
 * @deprecated Moved to `@infra/connector-utils` (`makeBecomeGetScript`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function makeBecomeGetScript(srcPath: string): StringCommand {
  return sh`cat ${srcPath}`;
}

/** Remove a temp file left by a killed script.
 *
 * @deprecated Moved to `@infra/connector-utils` (`makeRemoveScript`), the shared connector pipeline; removed from `@infra/core` in its next major.
 */
export function makeRemoveScript(path: string): StringCommand {
  return sh`rm -f ${path}`;
}

/**
 * What a connector runs for a command: the program and the script for its `-c`.
 * Without a user switch the shell runs the command itself (`sh -c CMD`, one exec
 * less than `sh -c 'sh -c CMD'`); with sudo / su / doas, `sh -c` runs the full
 * wrapped command.

 *
 * @deprecated Moved to `@infra/connector-utils` (`makeShellInvocation`), the shared connector pipeline; removed from `@infra/core` in its next major.
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
