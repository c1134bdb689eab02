import { quote, type RawCommand } from '@infra/core';

/**
 * The POSIX sh program of a command session (see `CommandSession`). It reads the
 * session's marker as the first line of its stdin (never an argument or an
 * environment variable: `ps` would show it to the commands, whose output must not
 * hold it), answers `MARKER r` (ready; `MARKER n` where `setsid` is missing), then
 * reads requests: the shell, the number of lines of the script, the lines. Each
 * command runs as `SHELL -c SCRIPT` in a process group (and session) of its own,
 * started by `setsid`, with stdin from /dev/null, in the foreground (so SIGINT and
 * SIGQUIT are not ignored, as they would be for `&`). The child prints
 * `MARKER pPID` (its PID, the process group's) to stdout and the PID to the
 * session, then becomes `setsid SHELL` (it reads its PID from /proc/self/stat;
 * without /proc a `sh` wrapper prints the PID after the session's `MARKER p`,
 * then execs the shell). After it: `MARKER e` on
 * stderr, `MARKER xSTATUS d` on stdout, or `... l` when processes of the group
 * are left behind (the session then ends, so its channel closes only once they
 * let go of stdout and stderr, as an exec channel would). Its own variables are
 * not exported: no command sees them.
 */
export const SESSION_SCRIPT = `IFS= read -r __infra_m || exit 0
command -v setsid >/dev/null 2>&1 || { printf '%s n\\n' "$__infra_m"; exit 0; }
__infra_f=
[ -r /proc/self/stat ] && __infra_f=1
exec 4>&1 5>&2
printf '%s r\\n' "$__infra_m"
while IFS= read -r __infra_c && IFS= read -r __infra_n; do
  __infra_s=
  __infra_i=0
  while [ "$__infra_i" -lt "$__infra_n" ]; do
    IFS= read -r __infra_l || exit 0
    if [ "$__infra_i" -eq 0 ]; then __infra_s=$__infra_l; else __infra_s="$__infra_s
$__infra_l"; fi
    __infra_i=$((__infra_i + 1))
  done
  if [ -n "$__infra_f" ]; then
    __infra_p=$(exec 3>&1 >&4 2>&5 4>&- 5>&- </dev/null; read -r __infra_q __infra_r </proc/self/stat; printf '%s p%s\\n' "$__infra_m" "$__infra_q"; printf '%s\\n' "$__infra_q" >&3; exec 3>&- setsid "$__infra_c" -c "$__infra_s")
  else
    printf '%s p' "$__infra_m"
    __infra_p=$(setsid sh -c 'printf "%s\\n" "$$"; printf "%s\\n" "$$" >&3; exec 3>&-; exec "$0" -c "$1"' "$__infra_c" "$__infra_s" 3>&1 >&4 2>&5 4>&- 5>&- </dev/null)
  fi
  __infra_x=$?
  __infra_k=d
  if [ -n "$__infra_p" ] && kill -0 -"$__infra_p" 2>/dev/null; then __infra_k=l; fi
  printf '%s e\\n' "$__infra_m" >&2
  printf '%s x%s %s\\n' "$__infra_m" "$__infra_x" "$__infra_k"
  [ "$__infra_k" = d ] || exit 0
done`;

/** What the session's exec channel asks sshd to run (through the login user's shell, as an exec channel's command). */
export const SESSION_COMMAND_LINE = `exec sh -c ${quote(SESSION_SCRIPT)} infra-command-session`;

/** Scripts longer than this run on exec channels: the session's sh reads its stdin a byte at a time. */
export const SESSION_MAX_SCRIPT_LENGTH = 64 * 1024;

/** Whether the session can run `command` as an exec channel would (see `CommandSession`). */
export function fitsCommandSession(command: RawCommand): boolean {
  return (
    command.stdin === undefined &&
    !command.getPty &&
    !command.passwordOnStdin &&
    !command.hasSecrets &&
    command.shell !== '' &&
    !/[\n\0]/.test(command.shell) &&
    !command.script.includes('\0') &&
    command.script.length <= SESSION_MAX_SCRIPT_LENGTH
  );
}

/** One request on the session's stdin: the shell, the script's line count, its lines. */
export function sessionRequest(command: RawCommand): string {
  const lines = command.script.split('\n');
  return `${command.shell}\n${lines.length}\n${command.script}\n`;
}
