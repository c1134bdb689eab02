import type { Readable, Writable } from 'node:stream';
import type { RawCommand, RawCommandIo, RawExit } from '@infra/core';
import type { ClientChannel, PseudoTtyOptions } from 'ssh2';
import { remoteCommandLine } from './remote-command-line.js';
import { type SshConnection, SshConnectionLostError } from './ssh-connection.js';
import { type SuPrompt, SuPromptFilter } from './su-prompt.js';

/** What ssh2 keeps inside a channel, used to send a signal after stdin was closed. */
interface ChannelInternals {
  outgoing?: { id?: number; state?: string };
  _client?: { _protocol?: { signal?: (id: number, name: string) => void } };
}

/**
 * Send a signal request on a session channel. ssh2's `channel.signal()` does
 * nothing once our side has sent EOF (every command without stdin), so this
 * sends the same request through its protocol object while the channel is open.
 * sshd delivers it to the command's process group, as the login user.
 */
function sendSignal(channel: ClientChannel, name: string): void {
  const internals = channel as unknown as ChannelInternals;
  const id = internals.outgoing?.id;
  const signal = internals._client?._protocol?.signal;
  try {
    if (
      id !== undefined &&
      (internals.outgoing?.state === 'open' || internals.outgoing?.state === 'eof') &&
      signal
    ) {
      signal.call(internals._client!._protocol, id, name);
    } else {
      channel.signal(name);
    }
  } catch {
    // the channel is already closing
  }
}

/** Write to `sink`; while it holds too much, stop reading the channel (ssh2 then stops opening the window). */
function forward(sink: Writable, channel: ClientChannel): (chunk: Buffer) => void {
  return (chunk) => {
    if (sink.write(chunk)) return;
    channel.pause();
    sink.once('drain', () => channel.resume());
  };
}

function isStream(stdin: RawCommand['stdin']): stdin is NodeJS.ReadableStream {
  return typeof stdin === 'object' && !Buffer.isBuffer(stdin);
}

/**
 * The terminal of a `getPty` command. It does not echo when stdin starts with a
 * secret (a sudo password, a script holding one).
 */
function ptyOptions(command: RawCommand, hidden: boolean): PseudoTtyOptions {
  return {
    term: 'dumb',
    rows: 24,
    cols: 200,
    ...(command.passwordOnStdin || hidden ? { modes: { ECHO: 0 } } : {}),
  };
}

/**
 * Run one raw command on an exec channel of the connection (the ssh connector's
 * transport): stdout and stderr bytes go to `io` as they arrive, stdin is fed
 * from `command.stdin`, the exit code or the signal that ended it comes back.
 * When `io.signal` fires the command's process group gets SIGKILL through sshd
 * and the channel is closed. `how.su`: su's prompt is answered (see `SuPrompt`);
 * `how.asIs`: the login shell runs the script itself (see `remoteCommandLine`).
 */
export async function runOnChannel(
  connection: SshConnection,
  command: RawCommand,
  io: RawCommandIo,
  how: {
    su?: SuPrompt | undefined;
    asIs?: boolean | undefined;
    /** Open its channel before the ones waiting for a slot (the kill of an aborted command). */
    first?: boolean | undefined;
  } = {},
): Promise<RawExit> {
  if (io.signal.aborted) return { exitCode: null, signal: null };
  const { line, stdinPrefix } = remoteCommandLine(command, how);
  const su = how.su;
  // What the channel reports, recorded from the moment it opens: ssh2 can deliver
  // the output, exit status and close in the same tick as the open confirmation.
  const state: {
    exit: RawExit;
    closed: boolean;
    error: Error | undefined;
    wake: (() => void) | undefined;
    filter: SuPromptFilter | undefined;
  } = {
    exit: { exitCode: null, signal: null },
    closed: false,
    error: undefined,
    wake: undefined,
    filter: undefined,
  };
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    connection.limiter.release();
  };
  const onSinkError = (error: Error) => {
    state.error ??= error;
    state.wake?.();
  };
  const attach = (channel: ClientChannel) => {
    channel.on('data', forward(io.stdout, channel));
    const stderr = forward(io.stderr, channel);
    if (su) {
      const filter = new SuPromptFilter(su, (text) => channel.write(text), stderr);
      state.filter = filter;
      channel.stderr.on('data', (chunk: Buffer) => filter.push(chunk));
    } else {
      channel.stderr.on('data', stderr);
    }
    channel.on('exit', (code: number | null, signalName?: string) => {
      state.exit = { exitCode: code, signal: signalName ?? null };
    });
    channel.once('close', () => {
      state.filter?.flush();
      state.closed = true;
      release(); // the slot is free once the server has closed the channel
      state.wake?.();
    });
    channel.on('error', (error: Error) => {
      state.error ??= error;
      state.wake?.();
    });
  };
  const channel = await connection.openChannel<ClientChannel>(
    command.shownCommand,
    (callback) =>
      connection.client.exec(
        line,
        command.getPty ? { pty: ptyOptions(command, stdinPrefix !== undefined) } : {},
        (error, opened) => {
          if (!error) attach(opened);
          callback(error, opened);
        },
      ),
    {
      first: how.first,
      signal: io.signal,
      // Opened after a stop: the command started late; kill it, and drop its output.
      discard: (late) => {
        late.removeAllListeners('data');
        late.stderr.removeAllListeners('data');
        sendSignal(late, 'KILL');
        late.close();
      },
    },
  );
  io.stdout.on('error', onSinkError);
  io.stderr.on('error', onSinkError);
  const stopWatching = connection.onLost(release);
  try {
    return await new Promise<RawExit>((resolve, reject) => {
      let settled = false;
      const cleanups: (() => void)[] = [];
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        if (error) {
          channel.destroy();
          reject(error);
        } else {
          resolve(state.exit);
        }
      };
      state.wake = () => settle(state.error);
      if (state.closed || state.error) {
        settle(state.error);
        return;
      }
      cleanups.push(
        connection.onLost((error) =>
          settle(
            new SshConnectionLostError(`${error.message} while running: ${command.shownCommand}`, {
              cause: error,
            }),
          ),
        ),
      );
      const onStop = () => {
        // The process group as the login user; what a user switch started was
        // killed before this by the shared layer (`killBecomeOnStop`).
        sendSignal(channel, 'KILL');
        if (settled) return;
        settled = true;
        for (const cleanup of cleanups) cleanup();
        channel.close();
        resolve({ exitCode: null, signal: 'SIGKILL' });
      };
      // It may have fired while the channel was being opened.
      if (io.signal.aborted) {
        onStop();
        return;
      }
      io.signal.addEventListener('abort', onStop, { once: true });
      cleanups.push(() => io.signal.removeEventListener('abort', onStop));
      const stdin = command.stdin;
      const sendStdin = () => {
        if (stdinPrefix !== undefined) channel.write(stdinPrefix);
        if (stdin === undefined) {
          channel.end();
        } else if (!isStream(stdin)) {
          channel.end(stdin);
        } else {
          const source = stdin as Readable;
          source.on('error', (error) => {
            sendSignal(channel, 'KILL');
            settle(error);
          });
          source.pipe(channel);
        }
      };
      const filter = state.filter;
      if (!filter || filter.switched) {
        sendStdin();
      } else {
        filter.onSwitched = sendStdin;
        // su refused: a stdin stream that was never sent is not left open.
        cleanups.push(() => {
          if (!filter.switched && isStream(stdin)) (stdin as Readable).destroy();
        });
      }
    });
  } finally {
    stopWatching();
    io.stdout.removeListener('error', onSinkError);
    io.stderr.removeListener('error', onSinkError);
    if (connection.closed) release();
  }
}
