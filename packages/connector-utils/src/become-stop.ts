import { type ConnectorArguments, sh } from '@infra/core';
import { randomHex } from './random-hex.js';
import { becomeArguments, usesBecome } from './shell-invocation.js';

/**
 * The variable every process of a stoppable become command carries (`env`, exported
 * inside the user switch), so a stop can find them as the become user: a transport's
 * own kill runs as the login user, which may not signal what sudo / su / doas started.
 */
export const RUN_TAG_ENV = 'INFRA_RUN_TAG';

/** Seconds the kill of a stopped become command may take. */
const BECOME_KILL_TIMEOUT = 10;

/** A fresh tag for one run. */
export function newRunTag(): string {
  return randomHex(9);
}

/**
 * True when a stop of this command needs a kill as the become user: it switches
 * user and something can stop it (a timeout, a caller's signal).
 */
export function needsBecomeKill(
  args: Pick<ConnectorArguments, 'sudo' | 'suUser' | 'doas' | 'timeout'>,
  signal: AbortSignal | undefined,
): boolean {
  return usesBecome(args) && (signal !== undefined || (args.timeout ?? 0) > 0);
}

/** The arguments with the run's tag in the environment of the switched command. */
export function withRunTag<A extends ConnectorArguments>(args: A, tag: string): A {
  return { ...args, env: { ...args.env, [RUN_TAG_ENV]: tag } };
}

/**
 * The arguments of the kill: the same user switch (and sudo password) as the
 * stopped command, a time limit, nothing else of it.
 */
export function becomeKillArguments(args: ConnectorArguments): ConnectorArguments {
  return {
    ...becomeArguments(args),
    ...(args.sudoPassword !== undefined ? { sudoPassword: args.sudoPassword } : {}),
    timeout: BECOME_KILL_TIMEOUT,
  };
}

/**
 * SIGKILL every process of the stopped run (run as the become user for a become
 * command; on the via host for a wrapped one, `runThroughVia`): those whose
 * environment carries the tag and those whose arguments hold it (the shells that
 * export it, sudo / su around them), found through /proc where the host has it, a
 * few rounds while new ones appear. The tag is split in this script's own text,
 * so it never finds itself.
 */
export function makeRunTagKillScript(tag: string) {
  return sh`t=${tag}; e="${RUN_TAG_ENV}=$t"; n=0; while [ $n -lt 5 ]; do ps=$(grep -lzF -- "$e" /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | sed 's|^/proc/||; s|/[a-z]*$||' | sort -u); [ -n "$ps" ] || exit 0; kill -9 $ps 2>/dev/null; n=$((n+1)); done; exit 0`;
}
