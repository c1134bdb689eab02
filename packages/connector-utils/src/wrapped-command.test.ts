// What a via host runs for a wrapped command, run here with /bin/sh (the prefix `env`,
// so no privilege is needed): quoting, the environment, stdin, and a secret script.
import { spawnSync } from 'node:child_process';
import { quote } from '@infra/core';
import { describe, expect, it } from 'vitest';
import type { RawCommand } from './transport.js';
import { wrapRawCommand } from './wrapped-command.js';

function runHere(raw: RawCommand, stdin = '') {
  const done = spawnSync(raw.shell, ['-c', raw.script], { input: stdin, encoding: 'utf8' });
  return { stdout: done.stdout, stderr: done.stderr, status: done.status };
}

const command = (script: string, hasSecrets = false): RawCommand => ({
  shell: 'sh',
  script,
  hasSecrets,
  shownCommand: hasSecrets ? '***' : script,
});

const odd = `it's "odd" $HOME \\n \`x\`\nsecond line`;

describe('wrapRawCommand', () => {
  it('runs the script inside the wrapper, every word quoted, with only the environment given', () => {
    process.env.INFRA_WRAP_LEAK = 'leaked';
    try {
      const raw = wrapRawCommand(
        command(`printf '%s|%s|%s' "$A" "\${INFRA_WRAP_LEAK:-none}" ${quote('$(x)')}`),
        {
          prefix: ['env'],
          env: { A: odd },
          clearEnv: true,
        },
      );
      expect(raw.hasSecrets).toBe(false);
      expect(runHere(raw).stdout).toBe(`${odd}|none|$(x)`);
    } finally {
      delete process.env.INFRA_WRAP_LEAK;
    }
  });

  it('hands a secret script over on a file descriptor, never in an argv, and keeps stdin', () => {
    const script = `read line; printf '%s %s' "$line" ${quote(odd)}\necho`;
    const raw = wrapRawCommand(command(script, true), { prefix: ['env'] });
    expect(raw.hasSecrets).toBe(true);
    // The inner shell's argv holds only the reader: the script is in a here-document.
    expect(raw.script).toContain("3<<'INFRA_SCRIPT_");
    const argvPart = raw.script.slice(0, raw.script.indexOf('3<<'));
    expect(argvPart).not.toContain('read line');
    expect(runHere(raw, 'from stdin\n').stdout).toBe(`from stdin ${odd}\n`);
  });

  it('tags every process and says when it starts, when asked to', () => {
    const raw = wrapRawCommand(
      command('echo "$INFRA_T"; echo err >&2'),
      { prefix: ['env'] },
      {
        tag: ['INFRA_T', 'abc'],
        marker: 'started-abc',
      },
    );
    const ran = runHere(raw);
    expect(ran.stdout).toBe('abc\n');
    expect(ran.stderr).toBe('started-abc\nerr\n');
  });

  it('refuses an environment name that is no variable name', () => {
    expect(() => wrapRawCommand(command('true'), { prefix: [], env: { 'A B': 'x' } })).toThrow(
      /"A B" is not a variable name/,
    );
  });
});
