import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  knownHostsName,
  parseKnownHosts,
  verifyHostKey,
} from './known-hosts.js';

/** A fake ed25519 public key blob (type string + 32 bytes). */
function keyBlob(type = 'ssh-ed25519'): Buffer {
  const name = Buffer.from(type);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(name.length);
  const body = randomBytes(32);
  const bodyLength = Buffer.alloc(4);
  bodyLength.writeUInt32BE(body.length);
  return Buffer.concat([header, name, bodyLength, body]);
}

function line(hosts: string, key: Buffer, type = 'ssh-ed25519'): string {
  return `${hosts} ${type} ${key.toString('base64')}`;
}

function hashed(name: string): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

describe('known_hosts lookup', () => {
  const key = keyBlob();
  const other = keyBlob();

  it('names hosts as OpenSSH does', () => {
    expect(knownHostsName('web1', 22)).toBe('web1');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('finds plain, [host]:port, hashed and wildcard entries', () => {
    const check = (text: string, name: string) =>
      checkHostKey(parseKnownHosts(text, 'kh'), name, key).status;
    expect(check(line('web1,web2', key), 'web2')).toBe('known');
    expect(check(line('[127.0.0.1]:2222', key), '[127.0.0.1]:2222')).toBe('known');
    expect(check(line('127.0.0.1', key), '[127.0.0.1]:2222')).toBe('unknown');
    expect(check(line(hashed('[10.0.0.1]:2222'), key), '[10.0.0.1]:2222')).toBe('known');
    expect(check(line(hashed('10.0.0.2'), key), '10.0.0.1')).toBe('unknown');
    expect(check(line('*.example.com,!bad.example.com', key), 'good.example.com')).toBe('known');
    expect(check(line('*.example.com,!bad.example.com', key), 'bad.example.com')).toBe('unknown');
  });

  it('refuses @revoked keys, recognises @cert-authority lines, and reports a changed key with its line', () => {
    const revoked = parseKnownHosts(`${line('web1', other)}\n@revoked ${line('*', key)}\n`, 'kh');
    expect(checkHostKey(revoked, 'web1', key).status).toBe('revoked');

    const ca = parseKnownHosts(`@cert-authority ${line('*', key)}\n`, 'kh');
    expect(ca[0]?.marker).toBe('cert-authority');
    expect(checkHostKey(ca, 'web1', key).status).toBe('unknown');

    const changed = checkHostKey(
      parseKnownHosts(`# comment\n${line('web1', other)}\n`, 'kh'),
      'web1',
      key,
    );
    expect(changed.status).toBe('changed');
    if (changed.status === 'changed') expect(changed.entries[0]?.line).toBe(2);

    const otherType = checkHostKey(
      parseKnownHosts(line('web1', keyBlob('ssh-rsa'), 'ssh-rsa'), 'kh'),
      'web1',
      key,
    );
    expect(otherType.status).toBe('unknown');
  });
});

describe('verifyHostKey and appendKnownHost', () => {
  it('accept-new appends once, keeps existing lines byte for byte, and never duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-kh-'));
    const file = join(dir, 'known_hosts');
    const existing = `# keep me\n${line('other', keyBlob())}`; // no trailing newline
    writeFileSync(file, existing);
    const key = keyBlob();
    const policy = { files: [file], strict: 'accept-new' as const, host: '127.0.0.1', port: 2222 };
    const results = await Promise.all([
      verifyHostKey(policy, key),
      verifyHostKey(policy, key),
      appendKnownHost(file, '[127.0.0.1]:2222', key),
    ]);
    expect(results.filter((r) => r === 'added' || r === true).length).toBeGreaterThanOrEqual(1);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(`${existing}\n`)).toBe(true);
    expect(text.split('\n').filter((l) => l.includes(key.toString('base64')))).toHaveLength(1);
    expect(await verifyHostKey(policy, key)).toBe('known');
  });

  it('refuses a changed key naming both fingerprints and the file and line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-kh-'));
    const file = join(dir, 'known_hosts');
    const old = keyBlob();
    const presented = keyBlob();
    writeFileSync(
      file,
      `${line('[h]:22', keyBlob(), 'ssh-ed25519').replace('[h]:22', 'x')}\n${line('h', old)}\n`,
    );
    const before = readFileSync(file, 'utf8');
    const error = await verifyHostKey(
      { files: [file], strict: 'accept-new', host: 'h', port: 22 },
      presented,
    ).catch((e: Error & { code?: string }) => e);
    expect((error as { code?: string }).code).toBe('HOST_KEY_CHANGED');
    expect((error as Error).message).toContain(fingerprintSha256(old));
    expect((error as Error).message).toContain(fingerprintSha256(presented));
    expect((error as Error).message).toContain(`line 2 of ${file}`);
    expect(readFileSync(file, 'utf8')).toBe(before);
    const warnings: string[] = [];
    expect(
      await verifyHostKey({ files: [file], strict: 'no', host: 'h', port: 22 }, presented, (m) =>
        warnings.push(m),
      ),
    ).toBe('changed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(fingerprintSha256(old));
    expect(warnings[0]).toContain(fingerprintSha256(presented));
  });

  it('refuses an unknown host under "yes" with the fingerprint and how to add it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-kh-'));
    const key = keyBlob();
    const error = await verifyHostKey(
      { files: [join(dir, 'none')], strict: 'yes', host: 'h', port: 22 },
      key,
    ).catch((e: Error) => e);
    expect((error as { code?: string }).code).toBe('HOST_KEY_REJECTED');
    expect((error as Error).message).toContain(fingerprintSha256(key));
    expect((error as Error).message).toContain('accept-new');
  });
});
