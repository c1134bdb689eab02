import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  type ProcessScanResult,
  peerMissing,
  processScanner,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { MaskString, type OutputLine, SudoPasswordPrompt, sh } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshConnector } from '../src/index.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());

describe.skipIf(skip !== undefined)('ssh exec against OpenSSH sshd', () => {
  let sshd: SshdFixture;
  let plain: SshConnector;

  beforeAll(async () => {
    sshd = await startSshd({ maxSessions: 3, maxStartups: '100:30:200' });
    plain = sshConnector(sshd, { user: TEST_USERS.plain.name }).connector;
    await plain.connect();
  });

  afterAll(async () => {
    await plain?.disconnect();
    await sshd?.dispose();
  });

  it('reports exit codes, stderr and the signal that killed a command', async () => {
    const result = await plain.runShellCommand('echo out; echo err >&2; exit 3');
    expect(result.success).toBe(false);
    expect(result.output.exitCode).toBe(3);
    expect(result.output.lines).toEqual([
      { stream: 'stdout', line: 'out' },
      { stream: 'stderr', line: 'err' },
    ]);
    const killed = await plain.runShellCommand('kill -TERM $$', { shellExecutable: null });
    expect(killed.success).toBe(false);
    expect(killed.output.exitCode).toBeNull();
    expect(killed.output.signal).toBe('SIGTERM');
  });

  it('runs commands as the login user, with stdin from a string, a Buffer and a stream', async () => {
    const who = await plain.runShellCommand('id -un');
    expect(who.output.stdout).toBe(TEST_USERS.plain.name);
    const bytes = randomBytes(200_000);
    const counted = await plain.runShellCommand('wc -c', { stdin: bytes });
    expect(Number(counted.output.stdout.trim())).toBe(bytes.length);
    const streamed = await plain.runShellCommand('cat', { stdin: Readable.from(['a\n', 'b\n']) });
    expect(streamed.output.stdoutLines).toEqual(['a', 'b']);
    const text = await plain.runShellCommand('tr a-z A-Z', { stdin: 'hello' });
    expect(text.output.stdout).toBe('HELLO');
  });

  it('keeps a command holding a MaskString out of every remote argv, with and without a terminal', async () => {
    const secret = `infra-argv-secret-${randomBytes(8).toString('hex')}`;
    const scanner = await processScanner();
    const scanning = await scanner.startScanning(secret);
    let scan: ProcessScanResult;
    try {
      for (const getPty of [false, true]) {
        // `sleep` keeps the shell alive while the scan looks; the secret reaches the
        // shell (a builtin test) and never shows.
        const result = await plain.runShellCommand(
          sh`sleep 0.5; if [ ${new MaskString(secret)} = ${secret} ]; then printf 'same\n\\ %s\n' "it's"; fi`,
          { getPty },
        );
        expect(result.output.stdout.replaceAll('\r', '')).toBe("same\n\\ it's");
        expect(result.output.combined).not.toContain(secret);
      }
    } finally {
      scan = await scanning.stop();
      await scanner.dispose();
    }
    expect(scan.passes).toBeGreaterThan(0);
    expect(scan.hits).toEqual([]);
  });

  it('gives a terminal with getPty and none without', async () => {
    expect((await plain.runShellCommand('test -t 0 && test -t 1', { getPty: true })).success).toBe(
      true,
    );
    expect((await plain.runShellCommand('test -t 1')).success).toBe(false);
  });

  it('streams output line by line while the command still runs', async () => {
    const flag = `/tmp/infra-stream-${randomBytes(6).toString('hex')}`;
    const seen: OutputLine[] = [];
    let released: Promise<unknown> | undefined;
    // The command only finishes once the test, having seen its first line, creates the flag.
    const result = await plain.runShellCommand(
      sh`echo first; i=0; while [ ! -e ${flag} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo second; rm -f ${flag}`,
      {
        onOutput: (line) => {
          seen.push(line);
          if (line.line === 'first') released = plain.runShellCommand(sh`touch ${flag}`);
        },
      },
    );
    await released;
    expect(seen.map((l) => l.line)).toEqual(['first', 'second']);
    expect(result.output.stdoutLines).toEqual(['first', 'second']);
  });

  it('kills a command past its timeout and names it', async () => {
    const error = await errorOf(plain.runShellCommand('sleep 30; echo never', { timeout: 0.5 }));
    expect(error.code).toBe('COMMAND_TIMEOUT');
    expect(error.message).toContain('sleep 30; echo never');
    // The connection is still usable.
    expect((await plain.runShellCommand('echo ok')).output.stdout).toBe('ok');
  });

  it('shares one connection: more concurrent commands than MaxSessions wait their turn', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => plain.runShellCommand(`sleep 0.1; echo ${i}`)),
    );
    expect(results.map((r) => r.output.stdout)).toEqual(
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
    expect(results.every((r) => r.success)).toBe(true);
  });

  it('never runs more than ssh_max_channels commands at once', async () => {
    const { connector } = sshConnector(sshd, {
      user: TEST_USERS.plain.name,
      data: { ssh_max_channels: 2 },
    });
    const log = `/tmp/infra-channels-${randomBytes(6).toString('hex')}`;
    try {
      await Promise.all(
        Array.from({ length: 6 }, () =>
          connector.runShellCommand(sh`echo start >> ${log}; sleep 0.2; echo end >> ${log}`),
        ),
      );
      const events = (await connector.runShellCommand(sh`cat ${log}; rm -f ${log}`)).output
        .stdoutLines;
      let running = 0;
      let most = 0;
      for (const event of events) {
        running += event === 'start' ? 1 : -1;
        most = Math.max(most, running);
      }
      expect(events).toHaveLength(12);
      expect(most).toBeLessThanOrEqual(2);
    } finally {
      await connector.disconnect();
    }
  });

  it('runs one command on 30 hosts at once, every exit status intact', async () => {
    const hosts = Array.from(
      { length: 30 },
      (_, i) => sshConnector(sshd, { user: TEST_USERS.plain.name, name: `host${i}` }).connector,
    );
    try {
      const results = await Promise.all(
        hosts.map((host, i) => host.runShellCommand(`echo ${i}; exit 7`)),
      );
      expect(results.map((r) => r.output.exitCode)).toEqual(hosts.map(() => 7));
      expect(results.map((r) => r.output.stdout)).toEqual(hosts.map((_, i) => String(i)));
    } finally {
      await Promise.all(hosts.map((host) => host.disconnect()));
    }
  });

  describe('become through the core builder', () => {
    it('runs with NOPASSWD sudo, to another user, and with doas', async () => {
      const { connector } = sshConnector(sshd, { user: TEST_USERS.sudo.name });
      try {
        expect((await connector.runShellCommand('id -un', { sudo: true })).output.stdout).toBe(
          'root',
        );
        const asPlain = await connector.runShellCommand('id -un', {
          sudo: true,
          sudoUser: TEST_USERS.plain.name,
        });
        expect(asPlain.output.stdout).toBe(TEST_USERS.plain.name);
        expect((await connector.runShellCommand('id -un', { doas: true })).output.stdout).toBe(
          'root',
        );
      } finally {
        await connector.disconnect();
      }
    });

    it('runs with su: the password on stdin (no pty needed), or through sudo without one', async () => {
      const { connector } = sshConnector(sshd, { user: TEST_USERS.sudo.name });
      const target = TEST_USERS.plain.name;
      try {
        // util-linux su reads the password from stdin when there is no terminal.
        const withPassword = await connector.runShellCommand('id -un; pwd', {
          suUser: target,
          useSuLogin: true,
          stdin: `${TEST_USERS.plain.password}\n`,
        });
        expect(withPassword.output.stdoutLines).toEqual([target, `/home/${target}`]);

        const wrong = await connector.runShellCommand('id -un', {
          suUser: target,
          stdin: 'not-the-password\n',
        });
        expect(wrong.success).toBe(false);
        expect(wrong.output.stderr).toContain('Authentication failure');

        // sudo runs su as root, which needs no password.
        const throughSudo = await connector.runShellCommand('id -un', {
          sudo: true,
          suUser: target,
        });
        expect(throughSudo.output.stdout).toBe(target);
      } finally {
        await connector.disconnect();
      }
    });

    it("types su_password at su's prompt (no pty): clean output, stdin after the switch, password never shown", async () => {
      const target = TEST_USERS.plain.name;
      const password = TEST_USERS.plain.password;
      const { connector, log } = sshConnector(sshd, {
        user: TEST_USERS.sudo.name,
        data: { su_password: password },
      });
      const lines: OutputLine[] = [];
      try {
        // The real util-linux su asks for the password (the login user is not root).
        const result = await connector.runShellCommand('id -un; pwd; echo to-stderr >&2', {
          suUser: target,
          useSuLogin: true,
          onOutput: (line) => lines.push(line),
        });
        expect(result.success).toBe(true);
        expect(result.output.lines).toEqual([
          { stream: 'stdout', line: target },
          { stream: 'stdout', line: `/home/${target}` },
          { stream: 'stderr', line: 'to-stderr' },
        ]);
        expect(lines).toEqual(result.output.lines);

        // The command's stdin arrives only after su took the password: binary-safe, untouched.
        const bytes = randomBytes(200_000);
        const copied = await connector.runShellCommand('od -An -v -tx1 | tr -d " \\n"', {
          suUser: target,
          stdin: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
        });
        expect(copied.output.stdout).toBe(bytes.toString('hex'));
        // A command reading all of stdin never sees the password.
        const cat = await connector.runShellCommand('cat', { suUser: target, stdin: 'only this' });
        expect(cat.output.stdout).toBe('only this');

        // A failed su (exit code and su's message kept), the command never ran.
        const failing = await connector.runShellCommand('echo should-not-run', {
          suUser: TEST_USERS.sudoPassword.name,
        });
        expect(failing.success).toBe(false);
        expect(failing.output.stdout).toBe('');
        expect(failing.output.stderr).toContain('Authentication failure');

        // With sudo, su runs as root and asks nothing: the password is not sent at all.
        const throughSudo = await connector.runShellCommand('cat', {
          sudo: true,
          suUser: target,
          stdin: 'no password here',
        });
        expect(throughSudo.output.stdout).toBe('no password here');

        const everything = JSON.stringify([lines, log.messages, failing.output, result.output]);
        expect(everything).not.toContain(password);
      } finally {
        await connector.disconnect();
      }
    });

    it('asks the run for the sudo password once, when sudo says it needs one, and never shows it', async () => {
      const password = TEST_USERS.sudoPassword.password;
      let asked = 0;
      const prompt = new SudoPasswordPrompt({
        env: {},
        ask: async () => {
          asked++;
          return password;
        },
      });
      const { connector, log } = sshConnector(sshd, {
        user: TEST_USERS.sudoPassword.name,
        sudoPassword: prompt,
      });
      try {
        const results = await Promise.all([
          connector.runShellCommand('id -un', { sudo: true }),
          connector.runShellCommand('id -un', { sudo: true }),
        ]);
        const again = await connector.runShellCommand('id -un; echo err >&2; exit 4', {
          sudo: true,
        });
        expect(results.map((r) => r.output.stdout)).toEqual(['root', 'root']);
        expect(again.output.exitCode).toBe(4);
        expect(asked).toBe(1);
        const timedOut = await errorOf(
          connector.runShellCommand('sleep 20', { sudo: true, timeout: 0.5 }),
        );
        for (const text of [
          ...results.map((r) => r.output.combined),
          again.output.combined,
          timedOut.message,
          String(timedOut.stack),
          log.text(),
        ]) {
          expect(text).not.toContain(password);
        }
      } finally {
        await connector.disconnect();
      }
    });

    it("uses the host's sudo_password data", async () => {
      const { connector } = sshConnector(sshd, {
        user: TEST_USERS.sudoPassword.name,
        data: { sudo_password: TEST_USERS.sudoPassword.password },
      });
      try {
        const result = await connector.runShellCommand('id -un', { sudo: true });
        expect(result.output.stdout).toBe('root');
        expect(result.output.combined).not.toContain(TEST_USERS.sudoPassword.password);
      } finally {
        await connector.disconnect();
      }
    });

    it('with getPty, the terminal does not echo the password sent on stdin', async () => {
      const { connector } = sshConnector(sshd, { user: TEST_USERS.sudoPassword.name });
      try {
        const result = await connector.runShellCommand('tty >/dev/null && id -un', {
          sudo: true,
          sudoPassword: new MaskString(TEST_USERS.sudoPassword.password),
          getPty: true,
        });
        expect(result.output.stdout).toBe('root');
        expect(result.output.combined).not.toContain(TEST_USERS.sudoPassword.password);
      } finally {
        await connector.disconnect();
      }
    });

    it("an abort kills a command run under sudo (root), not only the login user's processes", async () => {
      const { connector } = sshConnector(sshd, { user: TEST_USERS.sudo.name });
      // A unique duration names the sleep in the process list.
      const seconds = `${600 + Math.floor(Math.random() * 300)}.${randomBytes(3).readUIntBE(0, 3)}`;
      const running = async () =>
        (await connector.runShellCommand(sh`pgrep -fx ${`sleep ${seconds}`}`)).success;
      try {
        for (const stop of ['abort', 'timeout'] as const) {
          const controller = new AbortController();
          const reason = new Error('stop the sudo command');
          const error = await errorOf(
            connector.runShellCommand(sh`echo started; sleep ${seconds}`, {
              sudo: true,
              ...(stop === 'abort'
                ? {
                    signal: controller.signal,
                    onOutput: (line: OutputLine) => {
                      if (line.line === 'started') controller.abort(reason);
                    },
                  }
                : { timeout: 1 }),
            }),
          );
          if (stop === 'abort') expect(error).toBe(reason);
          else expect(error.code).toBe('COMMAND_TIMEOUT');
          let left = await running();
          for (let i = 0; i < 50 && left; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
            left = await running();
          }
          expect(left).toBe(false);
        }
      } finally {
        await connector.disconnect();
      }
    });

    it('on a terminal (getPty), takes sudo_password from host data when sudo says it needs one', async () => {
      const { connector } = sshConnector(sshd, {
        user: TEST_USERS.sudoPassword.name,
        data: { sudo_password: TEST_USERS.sudoPassword.password },
      });
      try {
        const result = await connector.runShellCommand('tty >/dev/null && id -un', {
          sudo: true,
          getPty: true,
        });
        expect(result.success).toBe(true);
        expect(result.output.stdout.trim()).toBe('root');
        expect(result.output.combined).not.toContain('password is required');
        expect(result.output.combined).not.toContain(TEST_USERS.sudoPassword.password);
      } finally {
        await connector.disconnect();
      }
    });

    it('fails clearly when sudo needs a password and none can be had', async () => {
      const { connector } = sshConnector(sshd, { user: TEST_USERS.sudoPassword.name });
      try {
        const error = await errorOf(connector.runShellCommand('id -un', { sudo: true }));
        expect(error.code).toBe('SUDO_PASSWORD_REQUIRED');
      } finally {
        await connector.disconnect();
      }
    });
  });
});
