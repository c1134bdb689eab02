import type { Writable } from 'node:stream';
import type { CommandStdin } from './unix-command.js';

/** One raw command for a transport to run: `SHELL -c SCRIPT`, already built and quoted. */
export interface RawCommand {
  /** The shell program: `sh`, or the `shellExecutable` asked for. */
  readonly shell: string;
  /** The raw text for `SHELL -c` (secrets included: never log it). */
  readonly script: string;
  /** The script holds a secret: keep it out of any argv other users can read (`ps`). */
  readonly hasSecrets: boolean;
  /** The command as shown in messages (masked). */
  readonly shownCommand: string;
  /** Bytes for the command's stdin (a string, a Buffer or a stream); undefined: none. */
  readonly stdin?: CommandStdin | undefined;
  /** The first line of `stdin` is the sudo password (core's askpass reads it there). */
  readonly passwordOnStdin?: boolean | undefined;
  /**
   * The seconds the shared layer waits before it fires `io.signal` with a timeout
   * (for a transport whose server applies a timeout of its own); undefined: none.
   */
  readonly timeout?: number | undefined;
  /** Run it on a terminal (`getPty`), where the transport has one. */
  readonly getPty?: boolean | undefined;
}

/** Where a transport sends what the command prints, and when it must stop. */
export interface RawCommandIo {
  /** The command's stdout bytes: pipe into it (it is never to be ended by the transport). */
  readonly stdout: Writable;
  /** The command's stderr bytes, the same way. */
  readonly stderr: Writable;
  /**
   * Fires on a timeout or an abort: kill the command (all of it: its process
   * group, its exec, its channel) and settle, either way. The shared layer then
   * rejects with the right error.
   */
  readonly signal: AbortSignal;
}

/** How the command ended: an exit code, or the name of the signal that killed it. */
export interface RawExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/** Run one raw command: what a `TransportConnector` implements, and what a host offers the hosts that run through it. */
export type RunRaw = (command: RawCommand, io: RawCommandIo) => Promise<RawExit>;
