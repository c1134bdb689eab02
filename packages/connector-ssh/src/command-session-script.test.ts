import { spawn } from 'node:child_process';
import type { RawCommand } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { fitsCommandSession, SESSION_SCRIPT, sessionRequest } from './command-session-script.js';

const MARKER = '0123456789abcdef0123456789abcdef';
const WITHOUT_PROC = SESSION_SCRIPT.replace('[ -r /proc/self/stat ] && __infra_f=1', ':');

function raw(script: string, more: Partial<RawCommand> = {}): RawCommand {
  return { shell: 'sh', script, hasSecrets: false, shownCommand: script, ...more };
}

/** The session script run by this machine's sh on the given requests, until its stdin ends. */
function runSession(
  script: string,
  commands: RawCommand[],
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'infra-command-session'], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.on('error', reject);
    child.on('close', () => resolve({ stdout, stderr }));
    child.stdin.end(`${MARKER}\n${commands.map(sessionRequest).join('')}`);
  });
}

describe.each([
  ['with /proc/self/stat', SESSION_SCRIPT],
  ['with the sh wrapper (no /proc)', WITHOUT_PROC],
])('the command session script, %s', (_name, script) => {
  it('runs each script exactly, in a process group of its own, and frames its end', async () => {
    const multiLine = 'printf \'%s|\' "$0" "$#"\nprintf \'a\\\\b\\n\'\n\ncat\n';
    const { stdout, stderr } = await runSession(script, [
      raw(multiLine),
      raw('[ "$(ps -o pgid= -p $$ | tr -d " ")" = "$$" ] && echo own-group; echo oops >&2; exit 4'),
      raw('printf no-newline', { shell: 'bash' }),
    ]);
    const frames = stdout.split(MARKER);
    expect(frames[0]).toBe('');
    expect(frames[1]).toBe(' r\n');
    expect(frames[2]).toMatch(/^ p\d+\nsh\|0\|a\\b\n$/);
    expect(frames[3]).toBe(' x0 d\n');
    expect(frames[4]).toMatch(/^ p\d+\nown-group\n$/);
    expect(frames[5]).toBe(' x4 d\n');
    expect(frames[6]).toMatch(/^ p\d+\nno-newline$/);
    expect(frames[7]).toBe(' x0 d\n');
    expect(stderr).toBe(`${MARKER} e\noops\n${MARKER} e\n${MARKER} e\n`);
  });

  it('says when processes of the group are left behind, and ends there', async () => {
    const { stdout } = await runSession(script, [raw('sleep 0.2 & true'), raw('echo never')]);
    expect(stdout).toMatch(/ x0 l\n$/);
    expect(stdout).not.toContain('never');
  });
});

describe('fitsCommandSession', () => {
  it('takes plain commands only', () => {
    expect(fitsCommandSession(raw('true'))).toBe(true);
    expect(fitsCommandSession(raw('cat', { stdin: '' }))).toBe(false);
    expect(fitsCommandSession(raw('true', { getPty: true }))).toBe(false);
    expect(fitsCommandSession(raw('true', { hasSecrets: true }))).toBe(false);
    expect(fitsCommandSession(raw('true', { passwordOnStdin: true }))).toBe(false);
    expect(fitsCommandSession(raw('true', { shell: 'odd\nshell' }))).toBe(false);
    expect(fitsCommandSession(raw('x'.repeat(70_000)))).toBe(false);
  });
});
