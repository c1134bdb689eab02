import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { remoteCommandLine } from './remote-command-line.js';

describe('remoteCommandLine', () => {
  it('runs the script as is, or from the first line of stdin when it holds a secret', () => {
    const script = `printf '%s|' "$1" 'a\\b' "tab\there" 'it'"'"'s'; printf '\\n%s\\n' "line
two"; echo done`;
    const plain = remoteCommandLine({ shell: 'sh', script, hasSecrets: false, shownCommand: '' });
    expect(plain.stdinPrefix).toBeUndefined();
    const hidden = remoteCommandLine({ shell: 'sh', script, hasSecrets: true, shownCommand: '' });
    expect(hidden.line).not.toContain('tab');
    expect(hidden.stdinPrefix?.split('\n')).toHaveLength(2);
    const viaShell = (line: string, input = '') =>
      execFileSync('/bin/sh', ['-c', line], { input, encoding: 'utf8' });
    const expected = viaShell(plain.line);
    expect(expected).toContain('a\\b|tab\there|');
    expect(viaShell(hidden.line, `${hidden.stdinPrefix}rest of stdin`)).toBe(expected);
  });

  it('leaves the rest of stdin to the script', () => {
    const hidden = remoteCommandLine({
      shell: 'sh',
      script: 'cat',
      hasSecrets: true,
      shownCommand: '',
    });
    const out = execFileSync('/bin/sh', ['-c', hidden.line], {
      input: `${hidden.stdinPrefix}password\npayload`,
      encoding: 'utf8',
    });
    expect(out).toBe('password\npayload');
  });
});
