import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canUseExitMarker, ExitMarkerFilter, withExitMarker } from './exit-marker.js';

const NONCE = '0123abcd';
const MARKER = `\x01infra-exit:${NONCE}:`;

function filter(): { filter: ExitMarkerFilter; text: () => string; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const f = new ExitMarkerFilter(NONCE, (chunk) => chunks.push(Buffer.from(chunk)));
  return { filter: f, text: () => Buffer.concat(chunks).toString('latin1'), chunks };
}

describe('ExitMarkerFilter', () => {
  it('takes the marker off the end and reads the code', () => {
    const { filter: f, text } = filter();
    f.push(Buffer.from(`some error\n${MARKER}42\n`, 'latin1'));
    f.end();
    expect(f.exitCode).toBe(42);
    expect(text()).toBe('some error\n');
  });

  it('finds a marker cut across chunks at every position, and holds nothing else back', () => {
    const whole = Buffer.from(`out\x01put\n${MARKER}7\n`, 'latin1');
    for (let cut = 1; cut < whole.length; cut++) {
      const { filter: f, text } = filter();
      f.push(whole.subarray(0, cut));
      f.push(whole.subarray(cut));
      f.end();
      expect(f.exitCode, `cut at ${cut}`).toBe(7);
      expect(text()).toBe('out\x01put\n');
    }
  });

  it('hands on look-alikes: another nonce, a bad code, a lone \\x01 at the end', () => {
    const { filter: f, text } = filter();
    const data = `a\x01infra-exit:ffff:1\n${MARKER}x\n${MARKER}999\nend\x01`;
    f.push(Buffer.from(data, 'latin1'));
    f.end();
    expect(f.exitCode).toBeUndefined();
    expect(text()).toBe(data);
  });

  it('keeps output that comes after the marker (a background process writing late)', () => {
    const { filter: f, text } = filter();
    f.push(Buffer.from(`${MARKER}0\nlate line\n`, 'latin1'));
    f.end();
    expect(f.exitCode).toBe(0);
    expect(text()).toBe('late line\n');
  });
});

describe('withExitMarker', () => {
  it('is used for sh, ash and dash only', () => {
    expect(canUseExitMarker('sh')).toBe(true);
    expect(canUseExitMarker('/bin/dash')).toBe(true);
    expect(canUseExitMarker('bash')).toBe(false);
    expect(canUseExitMarker('/usr/bin/python3')).toBe(false);
  });

  // The real shells of this machine: busybox ash (the test images' sh) and dash.
  const shells = [['busybox', 'sh'], ['dash']].filter(([program]) => {
    try {
      execFileSync('sh', ['-c', `command -v ${program}`]);
      return true;
    } catch {
      return false;
    }
  });

  it.each(shells)('reports the exit status through %s, and keeps it', (...shell) => {
    // The script's stderr is a pipe, as in a container (node's own stdio pipes are sockets).
    const statusFile = join(mkdtempSync(join(tmpdir(), 'infra-exit-marker-')), 'status');
    const run = (script: string) => {
      const result = spawnSync(
        'sh',
        [
          '-c',
          '{ "$@" 2>&1 >/dev/null; echo "$?" > "$STATUS_FILE"; } | cat',
          'run',
          ...shell,
          '-c',
          withExitMarker(script, NONCE),
        ],
        { env: { ...process.env, STATUS_FILE: statusFile } },
      );
      return {
        status: Number(readFileSync(statusFile, 'utf8')),
        stderr: result.stdout.toString('latin1'),
      };
    };
    for (const [script, code] of [
      ['true', 0],
      ['false', 1],
      ["exit 42 # it's", 42],
      ['(exit 3); echo sub-shell >&2', 0],
      ['sh -c "exit 9"', 9],
    ] as const) {
      const { status, stderr } = run(script);
      expect(status).toBe(code);
      expect(stderr.endsWith(`${MARKER}${code}\n`), `${script}: ${JSON.stringify(stderr)}`).toBe(
        true,
      );
      // One marker only (sub-shells do not run the trap).
      expect(stderr.split(MARKER)).toHaveLength(2);
    }
    // A script that sends its stderr to a file writes no marker there.
    const redirected = run('exec 2>/dev/null; exit 5');
    expect(redirected).toEqual({ status: 5, stderr: '' });
    // Killed by a signal: no marker (the daemon's exit code is read instead).
    const killed = run('kill -TERM $$');
    expect(killed.status).toBe(143);
    expect(killed.stderr).not.toContain(MARKER);
  });
});
