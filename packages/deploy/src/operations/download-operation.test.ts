import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import { downloadOperation, hostDownloadCommand } from './download-operation.js';

const SHA = 'a'.repeat(64);
const which = (tools: string[]) => (args: unknown) => {
  const command = (args as { command: string }).command;
  return tools.includes(command) ? `/usr/bin/${command}` : null;
};

describe('files.download', () => {
  it('builds a curl download into a temporary file, checked, then moved', () => {
    expect(String(hostDownloadCommand('curl', 'http://x/a b', '/opt/f', SHA, true))).toBe(
      `mkdir -p -- "$(dirname -- /opt/f)" && t=/opt/f.infra-download-$$ && { curl -fsSL --retry 2 -o "$t" 'http://x/a b' && h=$(sha256sum -- "$t") && h=\${h%% *} && { [ "$h" = ${SHA} ] || { echo "sha256 mismatch: the download is $h, expected "${SHA} >&2; false; }; } && mv -f -- "$t" /opt/f; } || { rm -f -- "$t"; exit 1; }`,
    );
    expect(String(hostDownloadCommand('wget', 'http://x/', '/f', undefined, false))).toBe(
      `t=/f.infra-download-$$ && { wget -q -O "$t" http://x/ && mv -f -- "$t" /f; } || { rm -f -- "$t"; exit 1; }`,
    );
  });

  it('downloads on the host with curl, else wget; then fixes mode and owner', async () => {
    const curl = await planWith(
      downloadOperation,
      { src: 'http://x/f', dest: '/f', mode: '640', user: 'app' },
      { 'files.file': null, 'server.which': which(['curl', 'wget']) },
    );
    expect(curl.commands[0]).toContain('curl -fsSL');
    expect(curl.commands.slice(1)).toEqual(['chmod 640 /f', 'chown app /f']);
    const wget = await planWith(
      downloadOperation,
      { src: 'http://x/f', dest: '/f' },
      { 'files.file': null, 'server.which': which(['wget']) },
    );
    expect(wget.commands[0]).toContain('wget -q -O');
  });

  it('is in state when the file is there with the wanted sha256 (or no sha256 is asked)', async () => {
    const file = {
      type: 'file',
      mode: '644',
      user: 'root',
      group: 'root',
      size: 1,
      mtime: 0,
      sha256: SHA,
    };
    const same = await planWith(
      downloadOperation,
      { src: 'http://x/f', dest: '/f', sha256: SHA.toUpperCase() },
      { 'files.file': file },
    );
    expect(same.commands).toEqual([]);
    const noSha = await planWith(
      downloadOperation,
      { src: 'http://x/f', dest: '/f' },
      { 'files.file': file },
    );
    expect(noSha.commands).toEqual([]);
    const other = await planWith(
      downloadOperation,
      { src: 'http://x/f', dest: '/f', sha256: 'b'.repeat(64) },
      { 'files.file': file, 'server.which': which(['curl']) },
    );
    expect(other.commands).toHaveLength(1);
  });

  it('uploads from the controller when the host has neither tool (no fetch in the plan pass)', async () => {
    const { plan } = await planWith(
      downloadOperation,
      { src: 'http://127.0.0.1:9/never-fetched', dest: '/f', mode: 0o600 },
      { 'files.file': null, 'server.which': which([]) },
      { dry: true },
    );
    expect(plan.steps).toEqual([
      { kind: 'upload', src: Buffer.alloc(0), dest: '/f', mode: 0o600, createParents: true },
    ]);
  });

  it('refuses a bad sha256, a bad via, and via host without curl or wget', async () => {
    await expect(
      planWith(downloadOperation, { src: 'http://x', dest: '/f', sha256: 'abc' }, {}),
    ).rejects.toThrow(/sha256 "abc" is not a sha256: expected 64 hex digits/);
    await expect(
      planWith(downloadOperation, { src: 'http://x', dest: '/f', via: 'pigeon' as 'host' }, {}),
    ).rejects.toThrow(/via "pigeon": expected/);
    await expect(
      planWith(
        downloadOperation,
        { src: 'http://x', dest: '/f', via: 'host' },
        { 'files.file': null, 'server.which': which([]) },
      ),
    ).rejects.toThrow(/unit-host has neither curl nor wget/);
  });
});
