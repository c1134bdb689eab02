import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MaskString, type StringCommand, sh } from './command.js';
import { withSudoPasswordStdin } from './sudo-askpass.js';
import {
  CommandArgumentError,
  makeUnixCommand,
  type UnixCommandArguments,
} from './unix-command.js';

// Users made by scripts/setup-test-host.sh (CI runs it); see @infra/connector-testkit's TEST_USERS.
const PLAIN = 'infra-plain';
const SUDO = 'infra-sudo';
const SUDO_PW = { name: 'infra-sudopw', password: 'infra-sudopw-pw' };

function hasUser(name: string): boolean {
  return spawnSync('id', ['-u', name]).status === 0;
}
function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}
const isRoot = process.getuid?.() === 0;
const canBecome =
  isRoot && [PLAIN, SUDO, SUDO_PW.name].every(hasUser) && has('sudo') && has('runuser');
if (!canBecome && process.env.CI) {
  throw new Error(
    'CI=true but the sudo tests cannot run: run as root after scripts/setup-test-host.sh',
  );
}

/**
 * Run a built command the way a connector does: the login shell gets the whole
 * string, stdin gets the sudo password line (when `args` has one) and `input`.
 */
function run(
  command: StringCommand,
  asUser?: string,
  options: { args?: UnixCommandArguments; input?: string; env?: Record<string, string> } = {},
) {
  const raw = command.getRawValue();
  const argv = asUser ? ['runuser', '-u', asUser, '--', 'sh', '-c', raw] : ['sh', '-c', raw];
  const input = withSudoPasswordStdin(options.args ?? {}, options.input);
  const result = spawnSync(argv[0]!, argv.slice(1), {
    cwd: tmpdir(),
    encoding: 'utf8',
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    ...(input === undefined ? {} : { input: input as Buffer | string }),
  });
  return { stdout: result.stdout, stderr: result.stderr, status: result.status };
}

describe('makeUnixCommand: the command line', () => {
  it('wraps in sh -c by default and quotes the inner command once', () => {
    expect(makeUnixCommand('echo hi').getRawValue()).toBe("sh -c 'echo hi'");
    expect(makeUnixCommand('echo hi', { shellExecutable: null }).getRawValue()).toBe('echo hi');
    expect(makeUnixCommand('echo hi', { shellExecutable: 'bash' }).getRawValue()).toBe(
      "bash -c 'echo hi'",
    );
  });

  it('builds env, chdir and sudo with pyinfra flags', () => {
    const command = makeUnixCommand('id', {
      env: { A: 'x y' },
      chdir: '/srv/my app',
      sudo: true,
      sudoUser: 'www-data',
      useSudoLogin: true,
      preserveSudoEnv: true,
    });
    expect(command.getRawValue()).toBe(
      `sudo -H -n -i -E -u www-data sh -c 'cd '"'"'/srv/my app'"'"' && export '"'"'A=x y'"'"' && id'`,
    );
  });

  it('builds su and doas', () => {
    expect(
      makeUnixCommand('id', { suUser: 'bob', useSuLogin: true, preserveSuEnv: true }).getRawValue(),
    ).toBe(`su -l -m bob -c 'sh -c id'`);
    expect(makeUnixCommand('id -u', { doas: true, doasUser: 'bob' }).getRawValue()).toBe(
      `doas -n -u bob sh -c 'id -u'`,
    );
    expect(makeUnixCommand('echo "a b"', { suUser: 'bob' }).getRawValue()).toBe(
      `su bob -c 'sh -c '"'"'echo "a b"'"'"''`,
    );
  });

  it('keeps the sudo password out of the command: it goes first on stdin', () => {
    const args = { sudo: true, sudoPassword: 'pa$$ word' };
    const command = makeUnixCommand('id', args);
    expect(command.getRawValue()).not.toContain('pa$$');
    expect(command.getRawValue()).toContain('sudo -H -A -p "$__infra_d/a" sh -c id 3>&-');
    expect(command.hasSecrets()).toBe(false);
    expect(withSudoPasswordStdin(args, 'input')).toEqual(Buffer.from('pa$$ word\ninput'));
    expect(withSudoPasswordStdin({ sudoPassword: 'pa$$ word' }, 'input')).toBe('input');
    expect(() => makeUnixCommand('id', { sudo: true, sudoPassword: 'two\nlines' })).toThrow(
      /sudoPassword: a password cannot contain a line break/,
    );
  });

  it('reads stdin from a file before any user switch', () => {
    expect(makeUnixCommand('cat', { sudo: true }, { stdinPath: "/tmp/a b'" }).getRawValue()).toBe(
      `sudo -H -n sh -c cat < '/tmp/a b'"'"''`,
    );
  });

  it('masks MaskString env values and sends them raw', () => {
    const command = makeUnixCommand('echo "$TOKEN"', { env: { TOKEN: new MaskString('t0k en') } });
    expect(String(command)).not.toContain('t0k');
    expect(run(command).stdout).toBe('t0k en\n');
  });

  it('refuses bad env names, empty users and NUL bytes with errors naming the argument', () => {
    expect(() => makeUnixCommand('x', { env: { 'A B': '1' } })).toThrow(CommandArgumentError);
    expect(() => makeUnixCommand('x', { env: { 'A B': '1' } })).toThrow(/env: "A B"/);
    expect(() => makeUnixCommand('x', { sudo: true, sudoUser: '' })).toThrow(/sudoUser/);
    expect(() => makeUnixCommand('x', { chdir: 'a\0b' })).toThrow(/NUL/);
  });
});

describe('makeUnixCommand through a real shell', () => {
  const dir = mkdtempSync(join(tmpdir(), 'infra core dir with spaces '));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes env values with spaces, quotes and $ through untouched', () => {
    const env = { A: 'two words', B: `it's "quoted"`, C: '$HOME and $(id) and `id`', D: '' };
    const result = run(makeUnixCommand(`printf '%s|' "$A" "$B" "$C" "$D"`, { env }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`two words|it's "quoted"|$HOME and $(id) and \`id\`||`);
  });

  it('changes into a directory with spaces', () => {
    const result = spawnSync('sh', ['-c', makeUnixCommand('pwd', { chdir: dir }).getRawValue()], {
      encoding: 'utf8',
    });
    expect(result.stdout.trim()).toBe(dir);
  });

  it('quotes user values given through sh``', () => {
    const file = join(dir, `odd 'name' $x`);
    const result = run(makeUnixCommand(sh`touch ${file} && ls ${dir}`, {}));
    expect(result.stdout.trim()).toBe(`odd 'name' $x`);
  });
});

describe.skipIf(!canBecome)('makeUnixCommand with real sudo, su and doas', () => {
  const become = (args: UnixCommandArguments, asUser?: string) =>
    run(
      makeUnixCommand(`printf '%s:%s' "$(id -un)" "$FOO"`, { env: { FOO: 'a b' }, ...args }),
      asUser,
    );

  it('sudo -n to a plain user (as root)', () => {
    const result = become({ sudo: true, sudoUser: PLAIN });
    expect(result.stdout).toBe(`${PLAIN}:a b`);
  });

  it('sudo -n for a NOPASSWD user', () => {
    expect(become({ sudo: true }, SUDO).stdout).toBe('root:a b');
  });

  it('sudo -n for a password-required user says a password is required', () => {
    const result = become({ sudo: true }, SUDO_PW.name);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/a password is required/);
  });

  it('sudo with the password from stdin through the askpass FIFO, stdin left to the command', () => {
    const args = { sudo: true, sudoPassword: new MaskString(SUDO_PW.password) };
    const command = makeUnixCommand(`printf '%s:' "$(id -un)"; cat`, args);
    const result = run(command, SUDO_PW.name, { args, input: 'line 1\nline 2\n' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('root:line 1\nline 2\n');
  });

  it('leaves nothing in TMPDIR, after a wrong password too', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'infra-askpass-'));
    chmodSync(tmp, 0o1777);
    try {
      for (const password of [SUDO_PW.password, 'wrong-password']) {
        const args = { sudo: true, sudoPassword: password };
        run(makeUnixCommand('true', args), SUDO_PW.name, { args, env: { TMPDIR: tmp } });
      }
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('leaves stdin alone when sudo does not ask (NOPASSWD), with -E to another user too', () => {
    const args = {
      sudo: true,
      sudoUser: PLAIN,
      preserveSudoEnv: true,
      sudoPassword: 'not-asked-for',
    };
    const command = makeUnixCommand(
      `id -un; cat; env | grep -c "$(printf 'not-asked''-for')"`,
      args,
    );
    const result = run(command, SUDO, { args, input: 'mine\n' });
    expect(result.stdout).toBe(`${PLAIN}\nmine\n0\n`);
  });

  it('keeps the password out of the command environment with -E', () => {
    const args = { sudo: true, preserveSudoEnv: true, sudoPassword: SUDO_PW.password };
    const command = makeUnixCommand(`env | grep -c -e "$(printf 'infra-sudopw''-pw')"`, args);
    expect(run(command, SUDO_PW.name, { args }).stdout).toBe('0\n');
  });

  it('sudo with a wrong password fails at once without printing it', () => {
    const args = { sudo: true, sudoPassword: 'wrong-password-xyz' };
    const result = run(makeUnixCommand('id -un', args), SUDO_PW.name, { args });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).not.toContain('wrong-password-xyz');
    expect(result.stderr).toMatch(/incorrect password|Sorry, try again/);
  });

  it('fails with a clear message when the password line was not sent', () => {
    const args = { sudo: true, sudoPassword: SUDO_PW.password };
    const result = run(makeUnixCommand('id -un', args), SUDO_PW.name);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('the sudo password was not sent on stdin');
  });

  it('su to a plain user (as root), with login shell', () => {
    expect(become({ suUser: PLAIN }).stdout).toBe(`${PLAIN}:a b`);
    expect(run(makeUnixCommand('id -un; pwd', { suUser: PLAIN, useSuLogin: true })).stdout).toBe(
      `${PLAIN}\n/home/${PLAIN}\n`,
    );
  });

  it.skipIf(!has('doas') && !process.env.CI)('doas for a permitted user', () => {
    expect(become({ doas: true }, SUDO).stdout).toBe('root:a b');
    expect(become({ doas: true, doasUser: PLAIN }).stdout).toBe(`${PLAIN}:a b`);
  });
});
