import { quote } from '@infra/core';
import { randomHex } from './random-hex.js';
import type { RawCommand } from './transport.js';

/** How a wrapping connector enters its target: the program before `SHELL -c SCRIPT`, and the environment inside. */
export interface Wrapper {
  /** The argv that runs `SHELL -c SCRIPT` inside: `['chroot', ROOT]`, `['nsenter', '-t', PID, '-a']`. */
  readonly prefix: readonly string[];
  /** Variables for the command inside (`PATH`, `HOME`). */
  readonly env?: Readonly<Record<string, string>>;
  /** Nothing of the caller's environment goes in: only `env`. */
  readonly clearEnv?: boolean;
}

/**
 * What the shell inside runs for a script that holds a secret: it reads the script
 * from file descriptor 3 (a here-document of the outer script) with the shell's own
 * `read`, so the secret is in no argv and no environment, and needs no program (`cat`)
 * or `/dev` inside the target.
 */
const READ_SCRIPT_FROM_FD3 = [
  '__infra_script=',
  'while IFS= read -r __infra_line <&3 || [ -n "$__infra_line" ]; do __infra_script="$__infra_script$__infra_line',
  '"; done',
  'exec 3<&-',
  'eval "$__infra_script"',
].join('\n');

function envWords(wrapper: Wrapper): string[] {
  const assignments = Object.entries(wrapper.env ?? {}).map(([key, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new TypeError(`Wrapper environment: ${JSON.stringify(key)} is not a variable name.`);
    }
    return `${key}=${value}`;
  });
  if (!wrapper.clearEnv && assignments.length === 0) return [];
  return ['env', ...(wrapper.clearEnv ? ['-i'] : []), ...assignments];
}

/** A here-document delimiter that is no line of `text`. */
function delimiterFor(text: string): string {
  for (;;) {
    const delimiter = `INFRA_SCRIPT_${randomHex(8)}`;
    if (!text.split('\n').includes(delimiter)) return delimiter;
  }
}

/**
 * One raw command that runs `command` inside the wrapper, for a host to run as
 * `sh -c SCRIPT` (the via host's `runRawCommand`): `exec [env [-i] K=V...]
 * PREFIX... SHELL -c SCRIPT`, every word quoted. A script holding a secret goes in
 * a here-document read on file descriptor 3, never in an argv; the outer command
 * is then marked as holding a secret too, for the host that runs it. Stdin, the
 * password line and the timeout are the command's. With `started`, every process
 * carries the tag variable from the first exec on, and the command prints the
 * marker line on stderr before it enters the wrapper.
 */
export function wrapRawCommand(
  command: RawCommand,
  wrapper: Wrapper,
  started?: { readonly tag: readonly [name: string, value: string]; readonly marker: string },
): RawCommand {
  const inner = command.hasSecrets ? READ_SCRIPT_FROM_FD3 : command.script;
  const env = started ? { ...wrapper.env, [started.tag[0]]: started.tag[1] } : wrapper.env;
  const words = [...envWords({ ...wrapper, env }), ...wrapper.prefix, command.shell, '-c', inner];
  let script = `exec ${words.map(quote).join(' ')}`;
  if (started) {
    // Tagged from its first exec on, then says so on stderr: a kill after the marker finds it all.
    const announced = `printf '%s\\n' ${quote(started.marker)} >&2; ${script}`;
    script = `exec env ${quote(`${started.tag[0]}=${started.tag[1]}`)} sh -c ${quote(announced)}`;
  }
  if (command.hasSecrets) {
    const body = command.script.endsWith('\n') ? command.script : `${command.script}\n`;
    const delimiter = delimiterFor(body);
    script += ` 3<<'${delimiter}'\n${body}${delimiter}\n`;
  }
  return {
    shell: 'sh',
    script,
    hasSecrets: command.hasSecrets,
    shownCommand: command.shownCommand,
    stdin: command.stdin,
    passwordOnStdin: command.passwordOnStdin,
    timeout: command.timeout,
    getPty: command.getPty,
  };
}
