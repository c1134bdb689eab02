import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import {
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { MaskString, type RawCommand, type RawExit, StringCommand, sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshConnector } from '../src/index.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());
const user = TEST_USERS.plain.name;

/** Prints `session` when the command's parent is the command session's sh, `exec` when it is sshd. */
const WHERE = `case "$(ps -o args= -p $PPID)" in *infra-command-session*) echo session;; *) echo exec;; esac`;

function raw(script: string, shell = 'sh'): RawCommand {
  return { shell, script, hasSecrets: false, shownCommand: script };
}

/** Run one raw command on the connector's transport, collecting its bytes (optionally through a slow sink). */
async function runRaw(
  connector: SshConnector,
  command: RawCommand,
  options: { slow?: boolean; signal?: AbortSignal } = {},
): Promise<{ exit: RawExit; stdout: Buffer; stderr: Buffer; maxBuffered: number }> {
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  let maxBuffered = 0;
  const sink = (into: Buffer[]) => {
    const stream: Writable = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        into.push(Buffer.from(chunk));
        maxBuffered = Math.max(maxBuffered, stream.writableLength);
        if (options.slow) setImmediate(callback);
        else callback();
      },
    });
    return stream;
  };
  const exit = await connector.runRawCommand(command, {
    stdout: sink(chunks.stdout),
    stderr: sink(chunks.stderr),
    signal: options.signal ?? new AbortController().signal,
  });
  return {
    exit,
    stdout: Buffer.concat(chunks.stdout),
    stderr: Buffer.concat(chunks.stderr),
    maxBuffered,
  };
}

/** Exec channels sshd has started so far (its VERBOSE log says `Starting session: command` for each). */
async function execChannelsStarted(sshd: SshdFixture): Promise<number> {
  const log = await readFile(sshd.logFile, 'utf8');
  return log.split('\n').filter((line) => line.includes('Starting session: command')).length;
}

/** Succeeds once none of the processes is running any more (gone, or a zombie), within 5 s. */
function goneCommand(pids: string): string {
  return `for p in ${pids}; do i=0; while [ -r /proc/$p/stat ] && [ "$(sed 's/.*) //' /proc/$p/stat | cut -c1)" != Z ]; do i=$((i+1)); [ $i -gt 50 ] && { echo "process $p is still running" >&2; exit 1; }; sleep 0.1; done; done`;
}

describe.skipIf(skip !== undefined)('ssh command session', () => {
  let sshd: SshdFixture;
  let connector: SshConnector;
  /** The same host with the session turned off: everything on exec channels. */
  let execOnly: SshConnector;

  beforeAll(async () => {
    sshd = await startSshd();
    connector = sshConnector(sshd, { user }).connector;
    execOnly = sshConnector(sshd, { user, data: { ssh_command_session: false } }).connector;
  });

  afterAll(async () => {
    await connector?.disconnect();
    await execOnly?.runShellCommand('rm -f session-*');
    await execOnly?.disconnect();
    await sshd?.dispose();
  });

  it('runs 100 sequential commands on one connection in one session channel', async () => {
    const { connector: fresh } = sshConnector(sshd, { user });
    try {
      await fresh.connect();
      const before = await execChannelsStarted(sshd);
      for (let i = 0; i < 100; i++) {
        const result = await fresh.runShellCommand(sh`echo ${String(i)}`);
        expect(result.output.stdout).toBe(String(i));
      }
      expect((await fresh.runShellCommand(WHERE)).output.stdout).toBe('session');
      expect((await execChannelsStarted(sshd)) - before).toBe(1);
    } finally {
      await fresh.disconnect();
    }
  });

  it('runs SHELL -c SCRIPT as an exec channel does: same environment, signals, umask, directory, $0', async () => {
    const probe = [
      'printf "%s|%s|%s\\n" "$0" "$#" "$-"',
      'pwd',
      'umask',
      'env | grep -v "^_=" | LC_ALL=C sort',
      "grep -E '^Sig(Ign|Blk)' /proc/self/status",
      '[ "$(ps -o pgid= -p $$ | tr -d " ")" = "$$" ] && echo "own process group"',
      'ls /proc/$$/fd',
    ].join('; ');
    const inSession = await connector.runShellCommand(`${probe}; ${WHERE}`);
    // A command with stdin never runs in the session: the same probe on an exec channel.
    const onExec = await connector.runShellCommand(`${probe}; ${WHERE}`, { stdin: '' });
    expect(inSession.output.stdoutLines.at(-1)).toBe('session');
    expect(onExec.output.stdoutLines.at(-1)).toBe('exec');
    expect(inSession.output.stdoutLines.slice(0, -1)).toEqual(
      onExec.output.stdoutLines.slice(0, -1),
    );
    expect(inSession.output.stdout).toContain('own process group');
    expect((await connector.runShellCommand('readlink /proc/$$/fd/0')).output.stdout).toBe(
      '/dev/null',
    );
    const bash = await connector.runShellCommand(`echo "bash $BASH_VERSION"; ${WHERE}`, {
      shellExecutable: 'bash',
    });
    expect(bash.output.stdoutLines[0]).toMatch(/^bash \d/);
    expect(bash.output.stdoutLines[1]).toBe('session');
  });

  it('keeps no environment, directory or umask from one command to the next', async () => {
    await connector.runShellCommand('export INFRA_LEAK=1; cd /tmp; umask 077; set -e');
    const next = await connector.runShellCommand(
      `echo "\${INFRA_LEAK-unset}"; pwd; umask; ${WHERE}`,
    );
    const home = (await execOnly.runShellCommand('pwd')).output.stdout;
    expect(next.output.stdoutLines).toEqual(['unset', home, '0022', 'session']);
  });

  it('hands over stdout and stderr bytes apart and unchanged: binary, no trailing newline, large output with backpressure', async () => {
    const plain = await runRaw(connector, raw('printf out; printf err >&2; printf more'));
    expect(plain.stdout.toString()).toBe('outmore');
    expect(plain.stderr.toString()).toBe('err');
    expect(plain.exit).toEqual({ exitCode: 0, signal: null });

    const bytes = randomBytes(1024 * 1024);
    await connector.putFile(bytes, 'session-bytes.bin');
    const both = await runRaw(connector, raw('cat session-bytes.bin; cat session-bytes.bin >&2'));
    expect(both.stdout.equals(bytes)).toBe(true);
    expect(both.stderr.equals(bytes)).toBe(true);

    // 16 MiB into sinks that take one chunk per event-loop turn: the channel is paused meanwhile.
    const large = await runRaw(
      connector,
      raw('for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat session-bytes.bin; done'),
      { slow: true },
    );
    expect(large.stdout.length).toBe(16 * bytes.length);
    for (let i = 0; i < 16; i++) {
      expect(large.stdout.subarray(i * bytes.length, (i + 1) * bytes.length).equals(bytes)).toBe(
        true,
      );
    }
    expect(large.maxBuffered).toBeLessThan(8 * bytes.length);
    expect((await runRaw(connector, raw(`printf next; ${WHERE}`))).stdout.toString()).toBe(
      'nextsession\n',
    );
  });

  it('reports the exit code; a command killed by a signal reports 128 + its number, as sh does', async () => {
    expect((await runRaw(connector, raw('exit 7'))).exit).toEqual({ exitCode: 7, signal: null });
    expect((await runRaw(connector, raw('kill -TERM $$'))).exit).toEqual({
      exitCode: 143,
      signal: null,
    });
    const failed = await connector.runShellCommand('echo oops >&2; exit 3');
    expect(failed.success).toBe(false);
    expect(failed.output.exitCode).toBe(3);
    expect(failed.output.stderr).toBe('oops');
  });

  it('shows a command every process argv and environment without breaking its framing', async () => {
    const seen = await connector.runShellCommand(
      'ps -eww -o args; cat /proc/$PPID/cmdline /proc/$PPID/environ | tr "\\0" "\\n"; echo done',
    );
    expect(seen.success).toBe(true);
    expect(seen.output.stdout).toContain('infra-command-session');
    expect(seen.output.stdoutLines.at(-1)).toBe('done');
  });

  it('an abort kills the whole process group of the command, and the next command gets a new session', async () => {
    const controller = new AbortController();
    const reason = new Error('stop the session command');
    const error = await errorOf(
      connector.runShellCommand(
        'sleep 1000 & echo $! > session-abort.pids; echo $$ >> session-abort.pids; echo $PPID > session-abort.session; echo started; sleep 1000',
        {
          signal: controller.signal,
          onOutput: (line) => {
            if (line.line === 'started') controller.abort(reason);
          },
        },
      ),
    );
    expect(error).toBe(reason);
    const pids = (await execOnly.runShellCommand('cat session-abort.pids session-abort.session'))
      .output.stdoutLines;
    expect(pids).toHaveLength(3);
    const gone = await execOnly.runShellCommand(goneCommand(pids.join(' ')));
    expect(gone.output.stderr).toBe('');
    expect(gone.success).toBe(true);
    const next = await connector.runShellCommand(`echo $PPID; ${WHERE}`);
    expect(next.output.stdoutLines[1]).toBe('session');
    expect(next.output.stdoutLines[0]).not.toBe(pids[2]);
  });

  it('a timeout kills the command the same way and names it', async () => {
    const error = await errorOf(
      connector.runShellCommand('echo $$ > session-timeout.pid; sleep 1000', { timeout: 0.5 }),
    );
    expect(error.code).toBe('COMMAND_TIMEOUT');
    expect(error.message).toContain('sleep 1000');
    const pid = (await execOnly.runShellCommand('cat session-timeout.pid')).output.stdout;
    expect((await execOnly.runShellCommand(goneCommand(pid))).success).toBe(true);
  });

  it('a command whose session dies under it fails with SshConnectionLostError; the next one gets a new session', async () => {
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const result = connector.runShellCommand(
      'echo $PPID > session-dies.session; echo $$ > session-dies.pid; echo started; exec sleep 1000',
      {
        onOutput: (line) => {
          if (line.line === 'started') started();
        },
      },
    );
    result.catch(() => {});
    await running;
    // The session's sh first, then the command: the session never reports its end.
    await execOnly.runShellCommand(
      'kill -9 "$(cat session-dies.session)"; kill -9 -"$(cat session-dies.pid)"',
    );
    const error = await errorOf(result);
    expect(error.code).toBe('SSH_CONNECTION_LOST');
    expect(error.message).toContain('closed while running');
    expect(error.message).toContain('sleep 1000');
    expect((await connector.runShellCommand(WHERE)).output.stdout).toBe('session');
  });

  it('an idle session that dies is replaced: the next command runs all the same', async () => {
    const before = (await connector.runShellCommand(`echo $PPID; ${WHERE}`)).output.stdoutLines;
    expect(before[1]).toBe('session');
    // Stopped, the session takes the next command but never starts it; then it dies.
    await execOnly.runShellCommand(`kill -STOP ${before[0]}`);
    const given = connector.runShellCommand(`echo $PPID; ${WHERE}`);
    await execOnly.runShellCommand(`kill -9 ${before[0]}`);
    // The command never started there: it runs on an exec channel instead.
    expect((await given).output.stdoutLines[1]).toBe('exec');
    const after = (await connector.runShellCommand(`echo $PPID; ${WHERE}`)).output.stdoutLines;
    expect(after[1]).toBe('session');
    expect(after[0]).not.toBe(before[0]);
  });

  it('a lost connection fails the running session command the way it fails an exec channel, then reconnects', async () => {
    const { connector: dropped } = sshConnector(sshd, { user });
    try {
      let started: () => void = () => {};
      const running = new Promise<void>((resolve) => {
        started = resolve;
      });
      const result = dropped.runShellCommand(`echo $$ > session-drop.pid; ${WHERE}; sleep 1000`, {
        onOutput: (line) => {
          if (line.line === 'session') started();
        },
      });
      result.catch(() => {});
      await running;
      await sshd.dropConnections();
      const error = await errorOf(result);
      expect(error.code).toBe('SSH_CONNECTION_LOST');
      expect(error.message).toContain('dropped while running');
      expect((await dropped.runShellCommand(WHERE)).output.stdout).toBe('session');
    } finally {
      await dropped.disconnect();
      // What the dropped connection left running (an exec channel leaves it as well).
      await execOnly.runShellCommand('kill -9 -"$(cat session-drop.pid)" 2>/dev/null; true');
    }
  });

  it('disconnect() ends the session: its sh leaves no process behind', async () => {
    const { connector: closing } = sshConnector(sshd, { user });
    const session = (await closing.runShellCommand(`echo $PPID; ${WHERE}`)).output.stdoutLines;
    expect(session[1]).toBe('session');
    await closing.disconnect();
    const gone = await execOnly.runShellCommand(goneCommand(session[0] ?? ''));
    expect(gone.output.stderr).toBe('');
    expect(gone.success).toBe(true);
  });

  it('waits for what a command leaves behind holding its output, as an exec channel does, then starts a new session', async () => {
    const left = await connector.runShellCommand(`${WHERE}; (sleep 0.3; echo late) & echo early`);
    expect(left.output.stdoutLines).toEqual(['session', 'early', 'late']);
    const detached = await connector.runShellCommand(
      'sleep 1000 >/dev/null 2>&1 & echo $! > session-detached.pid; echo detached',
    );
    expect(detached.output.stdout).toBe('detached');
    expect((await connector.runShellCommand(WHERE)).output.stdout).toBe('session');
    await execOnly.runShellCommand('kill "$(cat session-detached.pid)"');
  });

  it('runs commands with stdin, a terminal or a secret, and a second command at once, on exec channels', async () => {
    expect((await connector.runShellCommand(WHERE, { stdin: 'x' })).output.stdout).toBe('exec');
    expect((await connector.runShellCommand(WHERE, { getPty: true })).output.stdout).toBe('exec');
    const secret = new StringCommand([WHERE, '#', new MaskString('not-for-argv')]);
    expect((await connector.runShellCommand(secret)).output.stdout).toBe('exec');
    expect((await execOnly.runShellCommand(WHERE)).output.stdout).toBe('exec');

    // The first holds the session until the second (which finds it busy) writes to the fifo.
    await connector.runShellCommand('rm -f session-busy.fifo; mkfifo session-busy.fifo');
    let first: () => void = () => {};
    const firstStarted = new Promise<void>((resolve) => {
      first = resolve;
    });
    const long = connector.runShellCommand(`${WHERE}; cat session-busy.fifo`, {
      onOutput: () => first(),
    });
    await firstStarted;
    const second = await connector.runShellCommand(`${WHERE}; echo released > session-busy.fifo`);
    expect(second.output.stdout).toBe('exec');
    expect((await long).output.stdoutLines).toEqual(['session', 'released']);
  });
});

describe.skipIf(skip !== undefined)('ssh command session with every channel taken', () => {
  let sshd: SshdFixture;

  beforeAll(async () => {
    sshd = await startSshd();
  });

  afterAll(async () => {
    await sshd?.dispose();
  });

  it("an abort's kill does not wait behind the channels waiting for a slot", async () => {
    const { connector } = sshConnector(sshd, { user, data: { ssh_max_channels: 2 } });
    const other = sshConnector(sshd, { user, data: { ssh_command_session: false } }).connector;
    const started = (text: string) => {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      return {
        promise,
        onOutput: (line: { line: string }) => {
          if (line.line === text) resolve();
        },
      };
    };
    try {
      await other.runShellCommand('rm -f slot-a.fifo slot-b.fifo; mkfifo slot-a.fifo slot-b.fifo');
      // One slot: an exec channel waiting on a fifo. The other: the session, running a sleep.
      const holding = started('holding');
      const held = connector.runShellCommand('echo holding; cat slot-a.fifo', {
        stdin: '',
        onOutput: holding.onOutput,
      });
      await holding.promise;
      const controller = new AbortController();
      const running = started('running');
      const aborted = connector.runShellCommand(`${WHERE}; echo running; sleep 1000`, {
        signal: controller.signal,
        onOutput: running.onOutput,
      });
      await running.promise;
      // A third waits for a slot, and would hold it (a fifo) if it got the session's.
      const queued = connector.runShellCommand('cat slot-b.fifo', { stdin: '' });
      const reason = new Error('abort while every slot is taken');
      controller.abort(reason);
      expect(await errorOf(aborted)).toBe(reason);
      await other.runShellCommand('echo a > slot-a.fifo; echo b > slot-b.fifo');
      expect((await held).output.stdoutLines).toEqual(['holding', 'a']);
      expect((await queued).output.stdout).toBe('b');
    } finally {
      await connector.disconnect();
      await other.runShellCommand('rm -f slot-a.fifo slot-b.fifo');
      await other.disconnect();
    }
  });
});

describe.skipIf(skip !== undefined)('ssh command session under MaxSessions 1', () => {
  let sshd: SshdFixture;

  beforeAll(async () => {
    sshd = await startSshd({ maxSessions: 1 });
  });

  afterAll(async () => {
    await sshd?.dispose();
  });

  it('gives its slot to SFTP and exec channels instead of holding it (no deadlock)', async () => {
    const { connector } = sshConnector(sshd, { user });
    try {
      expect((await connector.runShellCommand(WHERE)).output.stdout).toBe('session');
      // Each of these needs the one slot: the idle session closes to give it up. (Whether the
      // next command finds the slot free again for a new session depends on when sshd has
      // closed the last channel: it runs either way.)
      await connector.putFile(Buffer.from('one slot\n'), 'one-slot.txt');
      expect((await connector.runShellCommand('echo ok')).output.stdout).toBe('ok');
      const fromStdin = await connector.runShellCommand('cat; cat one-slot.txt', { stdin: 'in ' });
      expect(fromStdin.output.stdout).toBe('in one slot');
      expect((await connector.runShellCommand('echo ok')).output.stdout).toBe('ok');
      const chunks: Buffer[] = [];
      await connector.getFile(
        'one-slot.txt',
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk);
            callback();
          },
        }),
      );
      expect(Buffer.concat(chunks).toString()).toBe('one slot\n');
      const together = await Promise.all([
        connector.runShellCommand('echo a'),
        connector.runShellCommand('echo b', { stdin: '' }),
        connector.runShellCommand('echo c'),
      ]);
      expect(together.map((r) => r.output.stdout)).toEqual(['a', 'b', 'c']);
    } finally {
      await connector.disconnect();
    }
  });
});
