import type { Writable } from 'node:stream';
import { randomHex, untilAborted } from '@infra/connector-utils';
import type { RawCommand, RawCommandIo, RawExit } from '@infra/core';
import type { ClientChannel } from 'ssh2';
import { killProcessGroup } from './command-session-kill.js';
import { SESSION_COMMAND_LINE, sessionRequest } from './command-session-script.js';
import { FrameSplitter } from './session-framing.js';
import { describeEndpoint, type SshConnection, SshConnectionLostError } from './ssh-connection.js';

/** How a command ended; `{ exit: undefined }`: it never started (the caller uses an exec channel). */
type Outcome = { exit: RawExit | undefined } | { error: Error };

/** The command the session runs now, and what the session has said about it. */
interface Running {
  readonly command: RawCommand;
  readonly io: RawCommandIo;
  pid: number | undefined;
  status: number | undefined;
  leftover: boolean;
  stdoutDone: boolean;
  stderrDone: boolean;
  /** `io.signal` fired: its process group is killed once its PID is known. */
  aborted: boolean;
  killing: boolean;
  settle(outcome: Outcome): void;
}

const KILLED: RawExit = { exitCode: null, signal: 'SIGKILL' };

/**
 * One long-lived exec channel of a connection running a POSIX sh that reads
 * commands from its stdin and runs them one at a time, each as `SHELL -c SCRIPT`
 * in a child of its own (see `command-session-script.ts`): a command costs the
 * remote shell a fork and an exec instead of sshd a whole session. Output is
 * framed by a random marker (`FrameSplitter`); everything before a frame is the
 * command's, unchanged. An abort kills the command's process group and discards
 * the session. The channel holds one slot of the connection's `ChannelLimiter`,
 * given back when idle and another channel waits for one.
 */
export class CommandSession {
  readonly connection: SshConnection;
  readonly #marker = randomHex(16);
  readonly #ready: Promise<boolean>;
  #onReady: ((ok: boolean) => void) | undefined;
  #channel: ClientChannel | undefined;
  /** Claimed by a command (the one that opened it, at first). */
  #busy = true;
  /** No new command: closing or closed. */
  #discarded = false;
  #channelClosed = false;
  #closing = false;
  #released = false;
  #unsupported = false;
  #isReady = false;
  #running: Running | undefined;
  #paused: { sink: Writable; resume: () => void } | undefined;
  readonly #stopWatching: () => void;
  readonly #onWait = () => {
    if (!this.#busy) this.close();
  };

  /** A session on `connection`, claimed by the caller; undefined when no channel slot is free now. */
  static open(connection: SshConnection): CommandSession | undefined {
    if (connection.closed || !connection.limiter.tryAcquire()) return undefined;
    return new CommandSession(connection);
  }

  private constructor(connection: SshConnection) {
    this.connection = connection;
    this.#ready = new Promise<boolean>((resolve) => {
      this.#onReady = resolve;
    });
    connection.limiter.onWait = this.#onWait;
    this.#stopWatching = connection.onLost((error) => this.#lost(error));
    try {
      connection.client.exec(SESSION_COMMAND_LINE, (error, channel) => {
        if (error) {
          this.#gone();
          return;
        }
        this.#attach(channel);
        if (this.#discarded) {
          this.close();
          return;
        }
        channel.write(`${this.#marker}\n`);
      });
    } catch {
      this.#gone();
    }
  }

  /** No session can run on this connection: `setsid` is missing, or its sh ended before it was ready. */
  get unsupported(): boolean {
    return this.#unsupported;
  }

  get discarded(): boolean {
    return this.#discarded;
  }

  /** Take the idle session for one command; false when it is busy or discarded. */
  claim(): boolean {
    if (this.#busy || this.#discarded) return false;
    this.#busy = true;
    return true;
  }

  /**
   * Run `command` (claimed first) as an exec channel would. Undefined: the
   * session could not start (nothing ran), use an exec channel.
   */
  async run(command: RawCommand, io: RawCommandIo): Promise<RawExit | undefined> {
    let ready: boolean;
    try {
      // A stop while the server has not yet started the session's sh ends the wait.
      ready = await untilAborted(this.#ready, io.signal);
    } catch {
      this.close();
      return { exitCode: null, signal: null };
    }
    if (!ready || this.#discarded || !this.#channel) return undefined;
    if (io.signal.aborted) {
      this.#idle();
      return { exitCode: null, signal: null };
    }
    const channel = this.#channel;
    return new Promise<RawExit | undefined>((resolve, reject) => {
      const onAbort = () => this.#abort(running);
      const onSinkError = (error: Error) => this.#stop(running, { error });
      const running: Running = {
        command,
        io,
        pid: undefined,
        status: undefined,
        leftover: false,
        stdoutDone: false,
        stderrDone: false,
        aborted: false,
        killing: false,
        settle: (outcome) => {
          if (this.#running !== running) return;
          this.#running = undefined;
          io.signal.removeEventListener('abort', onAbort);
          io.stdout.removeListener('error', onSinkError);
          io.stderr.removeListener('error', onSinkError);
          this.#unpause();
          if ('error' in outcome) reject(outcome.error);
          else resolve(outcome.exit);
          this.#idle();
        },
      };
      this.#running = running;
      io.signal.addEventListener('abort', onAbort, { once: true });
      io.stdout.on('error', onSinkError);
      io.stderr.on('error', onSinkError);
      channel.write(sessionRequest(command));
    });
  }

  /** Close the channel (the session's sh reads the end of its stdin and exits). Idempotent. */
  close(): void {
    this.#discard();
    const channel = this.#channel;
    if (!channel || this.#channelClosed || this.#closing) return;
    this.#closing = true;
    if (this.connection.closed) return;
    try {
      channel.end();
      channel.close();
    } catch {
      // the connection is going: so is the channel
    }
  }

  /** Take no new command (the channel stays open). */
  #discard(): void {
    if (this.#discarded) return;
    this.#discarded = true;
    if (this.connection.limiter.onWait === this.#onWait) this.connection.limiter.onWait = undefined;
    this.#onReady?.(false);
  }

  #attach(channel: ClientChannel): void {
    this.#channel = channel;
    const stdout = new FrameSplitter(
      this.#marker,
      (chunk) => this.#output(chunk, 'stdout'),
      (body) => this.#stdoutFrame(body),
    );
    const stderr = new FrameSplitter(
      this.#marker,
      (chunk) => this.#output(chunk, 'stderr'),
      (body) => {
        const running = this.#running;
        if (body !== 'e' || !running) return;
        running.stderrDone = true;
        this.#maybeDone(running);
      },
    );
    channel.on('data', (chunk: Buffer) => stdout.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    channel.on('error', () => {
      // 'close' follows
    });
    channel.once('close', () => this.#closedByServer());
  }

  #output(chunk: Buffer, stream: 'stdout' | 'stderr'): void {
    // Before `MARKER r`: what the login shell's start-up files print (an exec
    // channel would print it before every command); no command's.
    if (!this.#isReady) return;
    const running = this.#running;
    if (!running) {
      // Output between commands: something an earlier command left behind writes
      // to the session's stdout. No later command's output is safe from it.
      this.close();
      return;
    }
    if (running.aborted) return;
    const sink = stream === 'stdout' ? running.io.stdout : running.io.stderr;
    if (sink.write(chunk) || this.#paused || !this.#channel) return;
    // Stop reading the channel until the sink drains (ssh2 then stops opening the window).
    const channel = this.#channel;
    const resume = () => {
      this.#paused = undefined;
      channel.resume();
    };
    channel.pause();
    sink.once('drain', resume);
    this.#paused = { sink, resume };
  }

  #unpause(): void {
    const paused = this.#paused;
    if (!paused) return;
    paused.sink.removeListener('drain', paused.resume);
    paused.resume();
  }

  #stdoutFrame(body: string): void {
    if (body === 'r') {
      this.#isReady = true;
      this.#onReady?.(true);
      return;
    }
    if (body === 'n') {
      this.#unsupported = true;
      this.close();
      return;
    }
    const running = this.#running;
    if (!running) return;
    const pid = /^p(\d+)$/.exec(body);
    if (pid) {
      running.pid = Number(pid[1]);
      if (running.aborted) this.#kill(running, { exit: KILLED });
      return;
    }
    const exit = /^x(\d+) ([dl])$/.exec(body);
    if (exit) {
      running.status = Number(exit[1]);
      running.leftover = exit[2] === 'l';
      running.stdoutDone = true;
      this.#maybeDone(running);
    }
  }

  /** Both streams are complete: the command's result (once the channel closes, when processes were left behind). */
  #maybeDone(running: Running): void {
    if (!running.stdoutDone || !running.stderrDone || running.killing) return;
    const outcome = { exit: { exitCode: running.status ?? null, signal: null } };
    if (running.aborted) {
      this.close();
      running.settle(outcome);
      return;
    }
    if (!running.leftover) {
      running.settle(outcome);
      return;
    }
    // The session's sh has ended; its channel closes once the processes left
    // behind let go of stdout and stderr. Their output until then is this command's.
    this.#discard();
    if (this.#channelClosed) running.settle(outcome);
  }

  #abort(running: Running): void {
    if (running.aborted) return;
    running.aborted = true;
    this.#unpause();
    // Its PID is on its way when not known yet (`MARKER p` comes first).
    if (running.pid !== undefined) this.#kill(running, { exit: KILLED });
  }

  /** Stop the command: kill its process group if it started, discard the session, then settle. */
  #stop(running: Running, outcome: Outcome): void {
    running.aborted = true;
    if (running.pid !== undefined) {
      this.#kill(running, outcome);
      return;
    }
    this.close();
    running.settle(outcome);
  }

  #kill(running: Running, outcome: Outcome): void {
    if (running.killing) return;
    running.killing = true;
    this.#discard();
    void killProcessGroup(this.connection, running.pid as number, () => this.close()).then(() => {
      this.close();
      running.settle(outcome);
    });
  }

  /** The command is done: take the next one, or give the slot back to a channel waiting for one. */
  #idle(): void {
    this.#busy = false;
    if (!this.#discarded && this.connection.limiter.waiting > 0) this.close();
  }

  #closedByServer(): void {
    // Ended before it was ready, and not by us: the login shell cannot run it (no sh?).
    if (!this.#isReady && !this.#discarded && !this.connection.closed) this.#unsupported = true;
    this.#channelClosed = true;
    this.#gone();
    const running = this.#running;
    if (!running || running.killing) return;
    if (running.stdoutDone && running.stderrDone) {
      running.settle({ exit: { exitCode: running.status ?? null, signal: null } });
      return;
    }
    if (running.aborted) {
      running.settle({ exit: KILLED });
      return;
    }
    if (running.pid === undefined) {
      // Closed before the command's PID came: it never started (a started one holds
      // the channel's stdout open until it has printed its PID). The session died
      // while idle, just as the command was given to it: an exec channel runs it.
      running.settle({ exit: undefined });
      return;
    }
    this.#kill(running, {
      error: new SshConnectionLostError(
        `the command session on ${describeEndpoint(this.connection.endpoint)} closed while running: ${running.command.shownCommand}`,
      ),
    });
  }

  #lost(error: SshConnectionLostError): void {
    this.#gone();
    const running = this.#running;
    if (!running || running.killing) return;
    running.settle({
      error: new SshConnectionLostError(
        `${error.message} while running: ${running.command.shownCommand}`,
        { cause: error },
      ),
    });
  }

  /** The channel is closed, or never opened: no new command, and its slot is free. */
  #gone(): void {
    this.close();
    this.#stopWatching?.();
    if (this.#released) return;
    this.#released = true;
    this.connection.limiter.release();
  }
}
