import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { readKnownHosts } from './known-hosts.js';
import { buildAuthAttempts } from './ssh-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'infra-ssh-caches-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function keyLine(host: string): string {
  const name = Buffer.from('ssh-ed25519');
  const blob = Buffer.alloc(4 + name.length + 4 + 32);
  blob.writeUInt32BE(name.length, 0);
  name.copy(blob, 4);
  blob.writeUInt32BE(32, 4 + name.length);
  randomBytes(32).copy(blob, 8 + name.length);
  return `${host} ssh-ed25519 ${blob.toString('base64')}\n`;
}

describe('files read once per run', () => {
  it('known_hosts: parsed once, read again after it changed (an accept-new append)', () => {
    const file = join(dir, 'known_hosts');
    writeFileSync(file, keyLine('one'));
    const first = readKnownHosts([file]);
    expect(first.map((entry) => entry.patterns)).toEqual([['one']]);
    expect(readKnownHosts([file])[0]).toBe(first[0]); // the same parsed entry, not parsed again
    appendFileSync(file, keyLine('two'));
    expect(readKnownHosts([file]).map((entry) => entry.patterns)).toEqual([['one'], ['two']]);
    rmSync(file);
    expect(readKnownHosts([file])).toEqual([]);
  });

  it('key files: parsed once, read again after they changed', async () => {
    const path = join(dir, 'id_ed25519');
    const sources = { username: 'u', keyFiles: [{ path, explicit: true }] };
    const publicOf = async () => {
      const { attempts } = await buildAuthAttempts(sources);
      const method = attempts[0]!.method as { key: { getPublicSSH(): Buffer } };
      return method.key;
    };
    writeFileSync(path, ssh2.utils.generateKeyPairSync('ed25519').private);
    const first = await publicOf();
    expect(await publicOf()).toBe(first);
    writeFileSync(path, `${ssh2.utils.generateKeyPairSync('ed25519').private}\n`);
    const second = await publicOf();
    expect(second.getPublicSSH().equals(first.getPublicSSH())).toBe(false);
  });
});
