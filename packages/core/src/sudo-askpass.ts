import { Readable } from 'node:stream';
import { MaskString, QuoteString, StringCommand } from './command.js';
import type { CommandStdin, UnixCommandArguments } from './unix-command.js';

/**
 * How a sudo password reaches sudo without being on any command line or in any
 * environment another user can read (`/proc/PID/cmdline`, `/proc/PID/environ`).
 *
 * The connector sends the password as the first line of the command's stdin,
 * ahead of the command's own input (`withSudoPasswordStdin`). The command the builder
 * makes reads that line into a shell variable (the shell's `read` takes exactly one
 * line, so the rest of stdin is the command's), writes it into a FIFO it holds open
 * in a private `mktemp -d` directory (mode 0700, the login user's), and runs
 * `sudo -A` with `/bin/sh` as the askpass program and a one-line script in that
 * directory as the "prompt" (sudo runs `ASKPASS PROMPT`): the script reads the
 * one line from the FIFO, removes the FIFO and prints the line to sudo; asked
 * again (a wrong password), it fails, and sudo gives up after one attempt. (A
 * TMPDIR holding `%` would be mangled by sudo's prompt escapes.)
 *
 * Nothing is stored on disk: the line lives in the pipe's kernel buffer, freed
 * when the shell exits, however it exits. When sudo does not ask (a NOPASSWD rule,
 * root), the line is never read and the command's stdin is untouched. sudo closes
 * every descriptor above 2, so neither the askpass nor the command inherits the FIFO;
 * `-E` and `!env_reset` have nothing to pass on.
 */

/** The askpass script: one line from the FIFO beside it, which it then removes; no FIFO, no answer. */
const ASKPASS_SCRIPT = `f="\${0%/*}/p"; [ -p "$f" ] || exit 1; IFS= read -r l <"$f"; rm -f "$f"; printf '%s\\n' "$l"`;

/** The sudo password the command built from these arguments reads from its stdin, if any. */
export function sudoPasswordOf(
  args: Pick<UnixCommandArguments, 'sudo' | 'sudoPassword'>,
): MaskString | undefined {
  if (!args.sudo || args.sudoPassword === undefined || args.sudoPassword === '') return undefined;
  return MaskString.is(args.sudoPassword) ? args.sudoPassword : new MaskString(args.sudoPassword);
}

/**
 * Wrap a `sudo` invocation (its argv as command parts, ending with the command
 * sudo runs, `-A -p SUDO_ASKPASS_PROMPT` among its options) so that sudo gets the
 * password from the first line of stdin. `stdinPath` makes a file (opened as the
 * login user) the become command's stdin.
 */
export function wrapSudoWithPassword(
  becomeCommand: StringCommand,
  stdinPath: string | undefined,
): StringCommand {
  const lines = [
    `IFS= read -r __infra_pw || { echo 'infra: the sudo password was not sent on stdin' >&2; exit 1; }`,
    `__infra_d=$(mktemp -d) || exit 1`,
    `trap 'rm -rf "$__infra_d"' EXIT; trap 'exit 129' HUP INT TERM PIPE`,
    `mkfifo -m 600 "$__infra_d/p" && exec 3<>"$__infra_d/p" || exit 1`,
    `printf '%s\\n' "$__infra_pw" >&3; unset __infra_pw`,
  ];
  return new StringCommand(
    [
      `${lines.join('\n')}\nprintf '%s\\n' `,
      new QuoteString(ASKPASS_SCRIPT),
      ` >"$__infra_d/a" || exit 1\nSUDO_ASKPASS=/bin/sh `,
      becomeCommand,
      ' 3>&-',
      ...(stdinPath === undefined ? [] : [' <', new QuoteString(stdinPath)]),
    ],
    '',
  );
}

/** The `-p` argument of the wrapped sudo: the askpass script's path. */
export const SUDO_ASKPASS_PROMPT = '"$__infra_d/a"';

/**
 * The command's stdin with the sudo password line in front, when the command was
 * built with one (`makeUnixCommand` with `sudo` and a `sudoPassword`); otherwise
 * the stdin as given. A password that is not one line is refused by the builder.
 */
export function withSudoPasswordStdin(
  args: Pick<UnixCommandArguments, 'sudo' | 'sudoPassword'>,
  stdin: CommandStdin | undefined,
): CommandStdin | undefined {
  const password = sudoPasswordOf(args);
  if (password === undefined) return stdin;
  const line = Buffer.from(`${password.getRawValue()}\n`, 'utf8');
  if (stdin === undefined) return line;
  if (typeof stdin === 'string') return Buffer.concat([line, Buffer.from(stdin, 'utf8')]);
  if (Buffer.isBuffer(stdin)) return Buffer.concat([line, stdin]);
  return prefixedStream(line, stdin);
}

/** `first`, then every chunk of `rest`; an error of `rest` is the new stream's error. */
function prefixedStream(first: Buffer, rest: NodeJS.ReadableStream): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    yield first;
    for await (const chunk of rest as AsyncIterable<Buffer | string>) {
      yield typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    }
  }
  const stream = Readable.from(chunks(), { objectMode: false });
  // Destroying the result stops the source too.
  stream.once('close', () => {
    const source = rest as Partial<Readable>;
    if (!source.readableEnded && typeof source.destroy === 'function') source.destroy();
  });
  return stream;
}
