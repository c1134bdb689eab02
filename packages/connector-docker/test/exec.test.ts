import { Readable } from 'node:stream';
import { TEST_USERS, useDockerd } from '@infra/connector-testkit';
import { MaskString, type OutputLine, SudoPasswordPrompt } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerConnector } from '../src/index.js';
import { dockerConnector } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();

describe.skipIf(skip !== undefined)('exec through the Engine API', () => {
  let connector: DockerConnector;

  beforeAll(async () => {
    ({ connector } = dockerConnector(dockerd!, { docker_identifier: dockerd!.images.busybox }));
    await connector.connect();
  });

  afterAll(async () => {
    await connector?.disconnect();
  });

  it('reads exit codes after the stream ends', async () => {
    for (const code of [0, 1, 2, 42, 127, 255]) {
      const result = await connector.runShellCommand(`exit ${code}`);
      expect(result.output.exitCode).toBe(code);
      expect(result.success).toBe(code === 0);
    }
    const missing = await connector.runShellCommand('no-such-program-here');
    expect(missing.output.exitCode).toBe(127);
    expect(missing.output.stderr).toContain('no-such-program-here');
  });

  it('gives the right exit code and clean output however the script moves its streams', async () => {
    // The shell reports its exit code at the end of its stderr (no inspect call):
    // scripts that move stderr, kill themselves or exec must still be right.
    const cases: [string, number, string[], string[]][] = [
      ['echo out; echo err >&2; exit 3', 3, ['out'], ['err']],
      ['exec 2>&1; echo err >&2; exit 4', 4, ['err'], []],
      ['exec 2>/tmp/stderr-file; echo hidden >&2; exit 5', 5, [], []],
      ['trap "echo own-trap" EXIT; exit 6', 6, ['own-trap'], []],
      ['exec sh -c "echo replaced; exit 7"', 7, ['replaced'], []],
      ['kill -KILL $$', 137, [], []],
      ['printf "no newline" >&2; false', 1, [], ['no newline']],
    ];
    for (const [script, code, stdout, stderr] of cases) {
      const result = await connector.runShellCommand(script);
      expect(result.output.exitCode, script).toBe(code);
      expect(result.output.stdoutLines, script).toEqual(stdout);
      expect(result.output.stderrLines, script).toEqual(stderr);
    }
    // What the trap checks: an exec's stderr is a pipe (else the exit code comes from inspect).
    const pipe = await connector.runShellCommand('[ -p /proc/self/fd/2 ] && echo pipe');
    expect(pipe.output.stdout).toBe('pipe');
    // The file the script sent its stderr to holds only what the script wrote.
    const file = await connector.runShellCommand('cat /tmp/stderr-file');
    expect(file.output.stdout).toBe('hidden');
  });

  it('demultiplexes stdout and stderr, and streams lines as they come', async () => {
    const seen: { line: OutputLine; done: boolean }[] = [];
    let done = false;
    const running = connector.runShellCommand(
      'echo one; sleep 0.3; echo two >&2; sleep 0.3; printf "three"',
      { onOutput: (line) => seen.push({ line, done }) },
    );
    const result = await running;
    done = true;
    expect(result.output.stdoutLines).toEqual(['one', 'three']);
    expect(result.output.stderrLines).toEqual(['two']);
    // Every line reached onOutput while the command still ran (before the promise settled).
    expect(seen.map((s) => s.line.line)).toEqual(['one', 'two', 'three']);
    expect(seen.every((s) => !s.done)).toBe(true);
  });

  it('gives a raw stream with getPty', async () => {
    const result = await connector.runShellCommand('test -t 1 && echo out && echo err >&2', {
      getPty: true,
    });
    expect(result.success).toBe(true);
    // A TTY has one stream: both lines come on stdout.
    expect(result.output.stdoutLines).toEqual(['out', 'err']);
    expect(result.output.stderrLines).toEqual([]);
  });

  it('passes env, working directory and stdin', async () => {
    const value = `it's "quoted" $HOME \`tick\` ünï`;
    const result = await connector.runShellCommand('printf "%s|%s|" "$V" "$(pwd)"; cat', {
      env: { V: value },
      chdir: '/tmp',
      stdin: Readable.from([Buffer.from('from '), Buffer.from('stdin')]),
    });
    expect(result.output.stdout).toBe(`${value}|/tmp|from stdin`);
  });

  it('kills a command past its timeout and names it', async () => {
    const error = await connector
      .runShellCommand('sleep 30 & sleep 31; echo never', { timeout: 1 })
      .catch((e: Error & { code?: string }) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).toBe('COMMAND_TIMEOUT');
    expect((error as Error).message).toContain('sleep 31; echo never');
    // Killed processes may stay zombies of the container's PID 1: count the live ones.
    const left = await connector.runShellCommand(
      'ps -o stat,comm | grep -v "^Z" | grep -c "sleep$" || true',
    );
    expect(left.output.stdout).toBe('0');
  });

  it('kills a command when its signal aborts', async () => {
    const controller = new AbortController();
    const running = connector.runShellCommand('sleep 40', { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopped by the test')), 300);
    await expect(running).rejects.toThrow('stopped by the test');
    const left = await connector.runShellCommand(
      'ps -o stat,comm | grep -v "^Z" | grep -c "sleep$" || true',
    );
    expect(left.output.stdout).toBe('0');
  });

  it('retries a failing command', async () => {
    const result = await connector.runShellCommand(
      'n=$(cat /tmp/tries 2>/dev/null || echo 0); echo $((n+1)) > /tmp/tries; [ "$n" -ge 2 ]',
      { retries: 3 },
    );
    expect(result.success).toBe(true);
    const tries = await connector.runShellCommand('cat /tmp/tries');
    expect(tries.output.stdout).toBe('3');
  });

  it('runs as docker_user', async () => {
    const { connector: asPlain } = dockerConnector(dockerd!, {
      docker_identifier: connector.containerId,
      docker_user: TEST_USERS.plain.name,
    });
    await asPlain.connect();
    try {
      const result = await asPlain.runShellCommand('id -un');
      expect(result.output.stdout).toBe(TEST_USERS.plain.name);
    } finally {
      await asPlain.disconnect();
    }
  });

  it('switches user with su inside the container', async () => {
    const result = await connector.runShellCommand('id -un; printf "%s" "$V"', {
      suUser: TEST_USERS.plain.name,
      env: { V: 'kept' },
    });
    expect(result.output.stdoutLines).toEqual([TEST_USERS.plain.name, 'kept']);
  });
});

describe.skipIf(skip !== undefined || dockerd?.images.busyboxSudo === undefined)(
  'sudo inside the container',
  () => {
    it('runs sudo with NOPASSWD, and asks for the password once when sudo wants one', async () => {
      const { connector } = dockerConnector(
        dockerd!,
        {
          docker_identifier: dockerd!.images.busyboxSudo!,
          docker_user: TEST_USERS.sudoPassword.name,
        },
        { sudoPassword: new SudoPasswordPrompt({ password: TEST_USERS.sudoPassword.password }) },
      );
      await connector.connect();
      try {
        const asRoot = await connector.runShellCommand('id -un', { sudo: true });
        expect(asRoot.output.stdout).toBe('root');
        const asPlain = await connector.runShellCommand('id -un', {
          sudo: true,
          sudoUser: TEST_USERS.plain.name,
        });
        expect(asPlain.output.stdout).toBe(TEST_USERS.plain.name);

        const wrong = await connector.runShellCommand('id -un', {
          sudo: true,
          sudoPassword: new MaskString('not-the-password'),
        });
        expect(wrong.success).toBe(false);

        const { connector: noPassword } = dockerConnector(dockerd!, {
          docker_identifier: connector.containerId,
          docker_user: TEST_USERS.sudoPassword.name,
        });
        await noPassword.connect();
        await expect(noPassword.runShellCommand('id -un', { sudo: true })).rejects.toMatchObject({
          code: 'SUDO_PASSWORD_REQUIRED',
        });
        await noPassword.disconnect();

        const { connector: nopasswd } = dockerConnector(dockerd!, {
          docker_identifier: connector.containerId,
          docker_user: TEST_USERS.sudo.name,
        });
        await nopasswd.connect();
        const viaNopasswd = await nopasswd.runShellCommand('id -un', { sudo: true });
        expect(viaNopasswd.output.stdout).toBe('root');
        await nopasswd.disconnect();
      } finally {
        await connector.disconnect();
      }
    });

    it('with getPty and a sudo password, runs without a terminal so nothing echoes the password', async () => {
      const { connector, log } = dockerConnector(dockerd!, {
        docker_identifier: dockerd!.images.busyboxSudo!,
        docker_user: TEST_USERS.sudoPassword.name,
      });
      await connector.connect();
      try {
        const result = await connector.runShellCommand('id -un', {
          sudo: true,
          sudoPassword: new MaskString(TEST_USERS.sudoPassword.password),
          getPty: true,
        });
        expect(result.output.stdout).toBe('root');
        expect(result.output.combined).not.toContain(TEST_USERS.sudoPassword.password);
        expect(log.text()).toContain('running without a terminal');
      } finally {
        await connector.disconnect();
      }
    });
  },
);
