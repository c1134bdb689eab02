import { spawnSync } from 'node:child_process';
import {
  type CommandInput,
  CommandOutput,
  type CommandResult,
  type ConnectorArguments,
  LineSplitter,
  MaskString,
  makeUnixCommand,
  type OutputLine,
  toStringCommand,
  withSudoPasswordStdin,
} from '@infra/core';
import { describe, expect, it } from 'vitest';
import { runWithSudoRetry, sudoNeedsPassword } from './sudo-retry.js';

const SUDO_PW = { name: 'infra-sudopw', password: 'infra-sudopw-pw' };
const canSudo =
  process.getuid?.() === 0 &&
  spawnSync('id', ['-u', SUDO_PW.name]).status === 0 &&
  spawnSync('sh', ['-c', 'command -v sudo']).status === 0;
if (!canSudo && process.env.CI) throw new Error('CI=true but real sudo cannot be tested here');

/** A tiny real runner: the built command through `runuser -u infra-sudopw -- sh -c`. */
function runAsPasswordUser(commands: string[]) {
  return async (command: CommandInput, args: ConnectorArguments): Promise<CommandResult> => {
    const built = makeUnixCommand(toStringCommand(command), args);
    commands.push(String(built));
    const stdin = withSudoPasswordStdin(args, args.stdin);
    const result = spawnSync(
      'runuser',
      ['-u', SUDO_PW.name, '--', 'sh', '-c', built.getRawValue()],
      typeof stdin === 'string' || Buffer.isBuffer(stdin) ? { input: stdin } : {},
    );
    const lines: OutputLine[] = [];
    const out = new LineSplitter((line) => lines.push({ stream: 'stdout', line }));
    const err = new LineSplitter((line) => lines.push({ stream: 'stderr', line }));
    out.push(result.stdout);
    out.end();
    err.push(result.stderr);
    err.end();
    return {
      success: result.status === 0,
      output: new CommandOutput(lines, result.status, result.signal),
    };
  };
}

describe.skipIf(!canSudo)('runWithSudoRetry with real sudo', () => {
  it('retries with the password when sudo says one is required, masked in every command', async () => {
    const commands: string[] = [];
    let asked = 0;
    const source = {
      get: async () => {
        asked++;
        return new MaskString(SUDO_PW.password);
      },
    };
    const result = await runWithSudoRetry(
      'id -un',
      { sudo: true },
      source,
      runAsPasswordUser(commands),
    );
    expect(result.success).toBe(true);
    expect(result.output.stdout).toBe('root');
    expect(asked).toBe(1);
    expect(commands).toHaveLength(2);
    expect(commands.join('\n')).not.toContain(SUDO_PW.password);
  });

  it('holds back sudo\'s "password is required" line from onOutput when it retries', async () => {
    const seen: string[] = [];
    const source = { get: async () => new MaskString(SUDO_PW.password) };
    const run = runAsPasswordUser([]);
    const result = await runWithSudoRetry(
      'id -un',
      { sudo: true, onOutput: (line: OutputLine) => seen.push(`${line.stream}:${line.line}`) },
      source,
      async (command, args) => {
        const r = await run(command, args);
        for (const line of r.output.lines) args.onOutput?.(line);
        return r;
      },
    );
    expect(result.success).toBe(true);
    expect(seen).toEqual(['stdout:root']);
  });

  it('does not ask when sudo needs no password or sudo is not used', async () => {
    const commands: string[] = [];
    const source = { get: async () => expect.fail('must not ask') };
    const result = await runWithSudoRetry('id -un', {}, source, runAsPasswordUser(commands));
    expect(result.output.stdout).toBe(SUDO_PW.name);
    expect(commands).toHaveLength(1);
  });

  it('probes with `true` first when stdin is a stream, so the stream is read once', async () => {
    const commands: string[] = [];
    const { Readable } = await import('node:stream');
    const source = { get: async () => new MaskString(SUDO_PW.password) };
    await runWithSudoRetry(
      'cat',
      { sudo: true, stdin: Readable.from(['x']) },
      source,
      runAsPasswordUser(commands),
    );
    expect(commands[0]).toMatch(/sudo -H -n sh -c true$/);
    expect(commands[1]).toMatch(/sudo -H -A -p /);
    expect(commands[1]).not.toContain(SUDO_PW.password);
  });

  it('sudoNeedsPassword reads the real sudo message', async () => {
    const result = await runAsPasswordUser([])('true', { sudo: true });
    expect(sudoNeedsPassword(result)).toBe(true);
  });
});

describe('runWithSudoRetry on a terminal (getPty)', () => {
  /** What a terminal gives back: one stream, so sudo's message is on stdout. */
  const onTerminal = (lines: string[], exitCode: number): CommandResult => ({
    success: exitCode === 0,
    output: new CommandOutput(
      lines.map((line) => ({ stream: 'stdout', line })),
      exitCode,
      null,
    ),
  });

  it('retries with the password when sudo says on stdout that it needs one', async () => {
    const calls: ConnectorArguments[] = [];
    const seen: string[] = [];
    const result = await runWithSudoRetry(
      'id -un',
      { sudo: true, getPty: true, onOutput: (line: OutputLine) => seen.push(line.line) },
      { get: async () => new MaskString(SUDO_PW.password) },
      async (_command, args) => {
        calls.push(args);
        if (args.sudoPassword === undefined) {
          args.onOutput?.({ stream: 'stdout', line: 'sudo: a password is required\r' });
          return onTerminal(['sudo: a password is required\r'], 1);
        }
        args.onOutput?.({ stream: 'stdout', line: 'root\r' });
        return onTerminal(['root\r'], 0);
      },
    );
    expect(result.output.stdout).toBe('root\r');
    expect(calls).toHaveLength(2);
    expect(calls[1]?.getPty).toBe(true);
    expect(seen).toEqual(['root\r']);
  });

  it('sudoNeedsPassword looks at stdout only on a terminal', () => {
    const result = onTerminal(['sudo: a password is required'], 1);
    expect(sudoNeedsPassword(result, { getPty: true })).toBe(true);
    expect(sudoNeedsPassword(result)).toBe(false);
  });
});
