import { quote, type RawCommand } from '@infra/core';

/**
 * The shell line that reads a script from the first line of stdin (escaped for
 * `printf %b`) and runs it: a script that holds a secret never appears in the
 * arguments of a remote process, where `ps` would show it to every user.
 */
const READ_SCRIPT_FROM_STDIN =
  'IFS= read -r __infra_script || exit 127; __infra_script=$(printf %b "$__infra_script"); eval "$__infra_script"';

/** A script as one line for `printf %b`: backslashes doubled, control characters as `\0NNN`. */
export function encodeScriptLine(script: string): string {
  const escaped = script.replace(/[\\\x00-\x1f\x7f]/g, (char) =>
    char === '\\' ? '\\\\' : `\\0${char.charCodeAt(0).toString(8).padStart(3, '0')}`,
  );
  return `${escaped}\n`;
}

/**
 * What an exec channel asks sshd to run (through the login user's shell):
 * `exec SHELL -c SCRIPT`, the login shell replaced by ours, or the script `asIs`
 * for the login shell. For a script with a secret, the script comes first on
 * stdin instead (`stdinPrefix`).
 */
export function remoteCommandLine(
  command: RawCommand,
  options: { asIs?: boolean | undefined } = {},
): { line: string; stdinPrefix?: string } {
  const shell = quote(command.shell);
  if (!command.hasSecrets) {
    // As is: the login shell runs the script itself (`shellExecutable: null`; a
    // `sudo ... sh -c '...'` that starts its own shell anyway).
    if (options.asIs) return { line: command.script };
    return { line: `exec ${shell} -c ${quote(command.script)}` };
  }
  return {
    line: `exec ${shell} -c ${quote(READ_SCRIPT_FROM_STDIN)}`,
    stdinPrefix: encodeScriptLine(command.script),
  };
}
