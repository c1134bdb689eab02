import { describe, expect, it } from 'vitest';
import { type CliCommand, parseArgs } from './args.js';
import { UsageError } from './usage-error.js';

function exec(argv: string[]): Extract<CliCommand, { kind: 'exec' }> {
  const command = parseArgs(argv);
  if (command.kind !== 'exec') throw new Error(`expected exec, got ${command.kind}`);
  return command;
}

function usageMessage(argv: string[]): string {
  try {
    parseArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).code).toBe('USAGE');
    return (error as Error).message;
  }
  throw new Error(`parseArgs(${JSON.stringify(argv)}) did not throw`);
}

describe('parseArgs', () => {
  it('reads INVENTORY exec -- CMD and keeps the words after -- untouched', () => {
    const command = exec(['@local', 'exec', '--', 'python3', '-c', "print('a b')", '--sudo', '-v']);
    expect(command.inventory).toBe('@local');
    expect(command.command).toEqual(['python3', '-c', "print('a b')", '--sudo', '-v']);
    expect(command.options.sudo).toBe(false);
    expect(command.options.verbosity).toBe(0);
  });

  it('reads --data-env KEY=VAR from the environment, typed like --data', () => {
    process.env.INFRA_TEST_DATA_ENV = 'tok=en 42';
    process.env.INFRA_TEST_DATA_PORT = '2222';
    try {
      const command = exec([
        '@rest:a',
        'exec',
        '--data-env',
        'api_key=INFRA_TEST_DATA_ENV',
        '--data-env=ssh_port=INFRA_TEST_DATA_PORT',
        '--',
        'true',
      ]);
      expect(command.options.data).toEqual({
        api_key: { text: 'tok=en 42', value: 'tok=en 42' },
        ssh_port: { text: '2222', value: 2222 },
      });
    } finally {
      delete process.env.INFRA_TEST_DATA_ENV;
      delete process.env.INFRA_TEST_DATA_PORT;
    }
  });

  it('takes flags before or after the inventory, in both --flag value and --flag=value forms', () => {
    const command = exec([
      '--sudo',
      '@ssh:a,@ssh:b',
      '--sudo-user=deploy',
      'exec',
      '--chdir',
      '/srv/app dir',
      '--env',
      'A=1',
      '--env=B=x=y',
      '--data',
      'ssh_port=2222',
      '--parallel',
      '3',
      '-vv',
      '--debug',
      '--json',
      '--shell-executable',
      'bash',
      '--',
      'true',
    ]);
    expect(command.inventory).toBe('@ssh:a,@ssh:b');
    expect(command.options).toMatchObject({
      sudo: true,
      sudoUser: 'deploy',
      chdir: '/srv/app dir',
      env: { A: '1', B: 'x=y' },
      data: { ssh_port: { text: '2222', value: 2222 } },
      parallel: 3,
      verbosity: 2,
      debug: true,
      json: true,
      shellExecutable: 'bash',
      useSudoPassword: false,
      doas: false,
    });
  });

  it('counts -v and -vv', () => {
    expect(exec(['-v', '@local', 'exec', '--', 'true']).options.verbosity).toBe(1);
    expect(exec(['-v', '-v', '@local', 'exec', '--', 'true']).options.verbosity).toBe(2);
  });

  it('reads su, doas and the sudo password flag', () => {
    const options = exec([
      '@local',
      'exec',
      '--su-user',
      'postgres',
      '--doas',
      '--doas-user',
      'www',
      '--sudo',
      '--use-sudo-password',
      '--',
      'id',
    ]).options;
    expect(options).toMatchObject({
      suUser: 'postgres',
      doas: true,
      doasUser: 'www',
      sudo: true,
      useSudoPassword: true,
    });
  });

  it('gives help for every command, whatever else is on the line', () => {
    expect(parseArgs([])).toEqual({ kind: 'help', topic: 'general' });
    expect(parseArgs(['--help'])).toEqual({ kind: 'help', topic: 'general' });
    expect(parseArgs(['@local', 'exec', '--help', '--bogus'])).toEqual({
      kind: 'help',
      topic: 'exec',
    });
    expect(parseArgs(['connectors', '-h'])).toEqual({ kind: 'help', topic: 'connectors' });
    expect(parseArgs(['help', 'exec'])).toEqual({ kind: 'help', topic: 'exec' });
    expect(parseArgs(['--version'])).toEqual({ kind: 'version' });
  });

  it('treats --help after -- as part of the command', () => {
    expect(exec(['@local', 'exec', '--', 'ls', '--help']).command).toEqual(['ls', '--help']);
  });

  it('reads the connectors command with output flags only', () => {
    expect(parseArgs(['connectors', '--json'])).toEqual({
      kind: 'connectors',
      options: { verbosity: 0, debug: false, json: true },
    });
    expect(usageMessage(['connectors', '--sudo'])).toMatch(/--sudo is an option of exec/);
    expect(usageMessage(['connectors', 'extra'])).toMatch(/takes no arguments/);
  });

  it('reads check FILES and exec --limit', () => {
    expect(parseArgs(['check', 'inventory.ts', 'deploy.ts'])).toEqual({
      kind: 'check',
      files: ['inventory.ts', 'deploy.ts'],
      options: { verbosity: 0, debug: false, json: false },
    });
    expect(usageMessage(['check'])).toMatch(/check: name the deploy and inventory files/);
    expect(
      exec(['web', 'exec', '--limit', 'db*', '--limit=app', '--', 'true']).options.limit,
    ).toEqual(['db*', 'app']);
    expect(usageMessage(['@local', 'exec', '--serial', '--', 'true'])).toMatch(
      /--serial is an option of deploys/,
    );
  });

  it.each([
    [
      ['@local', 'exec', 'uname', '-a'],
      /Unknown option -a: .*Put the command after --, e\.g\. infra @local exec -- uname -a\./,
    ],
    [['@local', 'exec', 'ls', '--all'], /Unknown option --all: .*infra @local exec -- ls --all\./],
    [['@local', 'exec', '--bogus', '--', 'true'], /Unknown option --bogus/],
    [['@local', 'exec', '-x', '--', 'true'], /Unknown option -x/],
    [['@local', 'exec', '--parallel', '0', '--', 'true'], /--parallel expects a whole number.*"0"/],
    [['@local', 'exec', '--parallel', 'ten', '--', 'true'], /--parallel expects .*"ten"/],
    [['@local', 'exec', '--parallel', '--', 'true'], /--parallel expects .* got nothing/],
    [['@local', 'exec', '--chdir', '--', 'true'], /--chdir expects a directory, got nothing/],
    [
      ['@local', 'exec', '--chdir=', '--', 'true'],
      /--chdir expects a directory, got an empty value/,
    ],
    [
      ['@local', 'exec', '--env', 'NOEQUALS', '--', 'true'],
      /--env expects KEY=VALUE, got "NOEQUALS"/,
    ],
    [['@local', 'exec', '--env', '1X=y', '--', 'true'], /"1X" is not an environment variable name/],
    [['@local', 'exec', '--data', '=v', '--', 'true'], /--data expects KEY=VALUE.*key is empty/],
    [['@local', 'exec', '--data', 'a-b=v', '--', 'true'], /"a-b" is not a data key/],
    [
      ['@local', 'exec', '--data-env', 'api_key=INFRA_TEST_UNSET_VARIABLE', '--', 'true'],
      /--data-env api_key=INFRA_TEST_UNSET_VARIABLE: the environment variable INFRA_TEST_UNSET_VARIABLE is not set/,
    ],
    [
      ['@local', 'exec', '--data-env', 'api_key=not-a-name', '--', 'true'],
      /"not-a-name" is not an environment variable name/,
    ],
    [
      ['@local', 'exec', '--data', 'api_key=a', '--data-env', 'api_key=HOME', '--', 'true'],
      /the data key api_key is given twice/,
    ],
    [['@local', 'exec', '--sudo=yes', '--', 'true'], /--sudo takes no value/],
    [
      ['@local', 'exec', '--chdir', '/a', '--chdir', '/b', '--', 'true'],
      /--chdir was given 2 times/,
    ],
    [['@local', 'exec', '--sudo-user', 'x', '--', 'true'], /--sudo-user needs --sudo/],
    [['@local', 'exec', '--use-sudo-password', '--', 'true'], /--use-sudo-password needs --sudo/],
    [['@local', 'exec', '--doas-user', 'x', '--', 'true'], /--doas-user needs --doas/],
    [
      ['@local', 'exec', 'echo', 'hi'],
      /put the command after --, e\.g\. infra @local exec -- echo hi/,
    ],
    [['@local', 'exec'], /put the command after --/],
    [['@local', 'exec', '--'], /nothing to run after --/],
    [['@local'], /Missing command after the inventory "@local": expected exec/],
    [['@local', 'run', '--', 'x'], /Unknown command "run": expected exec/],
    [['exec', '--', 'true'], /Missing INVENTORY before exec/],
    [['--', 'true'], /Missing INVENTORY and command/],
  ])('refuses %j with a message naming what was expected', (argv, message) => {
    expect(usageMessage(argv)).toMatch(message);
  });
});
