import { CommandOutput } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { parseArgs } from './args.js';
import { connectorArguments, outcomeOf, quoteCommandWords } from './exec-command.js';

describe('quoteCommandWords', () => {
  it('quotes each word on its own', () => {
    expect(String(quoteCommandWords(['python3', '-c', "print('a b')"]))).toBe(
      `python3 -c 'print('"'"'a b'"'"')'`,
    );
    expect(String(quoteCommandWords(['echo', '$HOME', 'a b', '']))).toBe(`echo '$HOME' 'a b' ''`);
  });
});

describe('connectorArguments', () => {
  it('passes only the flags given', () => {
    const command = parseArgs(['@local', 'exec', '--', 'true']);
    if (command.kind !== 'exec') throw new Error('expected exec');
    expect(connectorArguments(command.options)).toEqual({});
  });

  it('maps the flags to connector arguments', () => {
    const command = parseArgs([
      '@local',
      'exec',
      '--sudo',
      '--sudo-user',
      'u',
      '--su-user',
      's',
      '--chdir',
      '/tmp',
      '--env',
      'A=1',
      '--shell-executable',
      'bash',
      '--',
      'true',
    ]);
    if (command.kind !== 'exec') throw new Error('expected exec');
    expect(connectorArguments(command.options)).toEqual({
      sudo: true,
      sudoUser: 'u',
      suUser: 's',
      chdir: '/tmp',
      env: { A: '1' },
      shellExecutable: 'bash',
    });
  });
});

describe('outcomeOf', () => {
  it('reads success, exit code and signal from the result', () => {
    const ok = { success: true, output: new CommandOutput([], 0) };
    const bad = { success: false, output: new CommandOutput([], 2) };
    const killed = { success: false, output: new CommandOutput([], null, 'SIGTERM') };
    expect(outcomeOf('h', ok, false)).toEqual({
      host: 'h',
      status: 'succeeded',
      exitCode: 0,
      signal: null,
    });
    expect(outcomeOf('h', bad, false).status).toBe('failed');
    expect(outcomeOf('h', killed, true)).toEqual({
      host: 'h',
      status: 'interrupted',
      exitCode: null,
      signal: 'SIGTERM',
    });
  });
});
