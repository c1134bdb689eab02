import { createHash } from 'node:crypto';

/** One public key (primary or subkey) found in an OpenPGP keyring. */
export interface OpenPgpKey {
  /** Upper-case hex: 40 digits for v4 keys, 64 for v5/v6. */
  readonly fingerprint: string;
  /** The last 16 hex digits of a v4 fingerprint (the first 16 of a v5/v6 one). */
  readonly keyId: string;
  /** True for a subkey (bound to the primary key before it). */
  readonly subkey: boolean;
  /** The user IDs that follow a primary key (`Name <mail>`); empty for subkeys. */
  readonly userIds: string[];
}

const ARMOR_BEGIN = /-----BEGIN PGP (PUBLIC KEY BLOCK|PRIVATE KEY BLOCK|SIGNATURE|MESSAGE)-----/;

/** True when `data` is ASCII-armored OpenPGP (`-----BEGIN PGP PUBLIC KEY BLOCK-----`). */
export function isArmored(data: Buffer | string): boolean {
  const text = typeof data === 'string' ? data : data.subarray(0, 4096).toString('latin1');
  return ARMOR_BEGIN.test(text);
}

/**
 * Undo ASCII armor (RFC 4880 section 6.2): the base64 body between the header
 * block's blank line and the `=CRC` line. What `gpg --dearmor` does, without gpg.
 * Throws when the text is not armored or the body is not base64.
 */
export function dearmor(text: string): Buffer {
  const lines = text.replace(/\r/g, '').split('\n');
  const begin = lines.findIndex((line) => ARMOR_BEGIN.test(line));
  const end = lines.findIndex((line, i) => i > begin && /^-----END PGP /.test(line));
  if (begin === -1 || end === -1) {
    throw new Error('not an ASCII-armored OpenPGP block (no BEGIN/END PGP lines)');
  }
  let i = begin + 1;
  // Armor headers (`Version: ...`, `Comment: ...`) end at the first blank line.
  while (i < end && /^[\w-]+: /.test(lines[i] ?? '')) i++;
  const body = lines
    .slice(i, end)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^=[A-Za-z0-9+/]{4}$/.test(line))
    .join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body === '') {
    throw new Error('the armored block does not hold base64 data');
  }
  return Buffer.from(body, 'base64');
}

/** The bytes of a key given as binary or armored: armored ones are dearmored. */
export function binaryKey(data: Buffer): Buffer {
  return isArmored(data) ? dearmor(data.toString('latin1')) : data;
}

interface Packet {
  readonly tag: number;
  readonly body: Buffer;
}

/** Split OpenPGP packets (old and new header formats, RFC 4880 section 4.2). */
export function readPackets(data: Buffer): Packet[] {
  const packets: Packet[] = [];
  let at = 0;
  while (at < data.length) {
    const header = data[at] ?? 0;
    if ((header & 0x80) === 0) throw new Error(`byte ${at} is not an OpenPGP packet header`);
    let tag: number;
    let length: number;
    at++;
    if (header & 0x40) {
      tag = header & 0x3f;
      const first = data[at++] ?? 0;
      if (first < 192) length = first;
      else if (first < 224) length = ((first - 192) << 8) + (data[at++] ?? 0) + 192;
      else if (first === 255) {
        length = data.readUInt32BE(at);
        at += 4;
      } else throw new Error('partial-length packets are not keys');
    } else {
      tag = (header >> 2) & 0x0f;
      const type = header & 0x03;
      if (type === 0) length = data[at++] ?? 0;
      else if (type === 1) {
        length = data.readUInt16BE(at);
        at += 2;
      } else if (type === 2) {
        length = data.readUInt32BE(at);
        at += 4;
      } else length = data.length - at;
    }
    if (at + length > data.length) throw new Error('a packet runs past the end of the keyring');
    packets.push({ tag, body: data.subarray(at, at + length) });
    at += length;
  }
  return packets;
}

function fingerprintOf(body: Buffer): { fingerprint: string; keyId: string } {
  const version = body[0];
  if (version === 4) {
    const prefix = Buffer.from([0x99, (body.length >> 8) & 0xff, body.length & 0xff]);
    const fingerprint = createHash('sha1').update(prefix).update(body).digest('hex').toUpperCase();
    return { fingerprint, keyId: fingerprint.slice(-16) };
  }
  if (version === 5 || version === 6) {
    const prefix = Buffer.alloc(5);
    prefix[0] = version === 5 ? 0x9a : 0x9b;
    prefix.writeUInt32BE(body.length, 1);
    const fingerprint = createHash('sha256')
      .update(prefix)
      .update(body)
      .digest('hex')
      .toUpperCase();
    return { fingerprint, keyId: fingerprint.slice(0, 16) };
  }
  throw new Error(`key packet version ${version} is not supported (expected 4, 5 or 6)`);
}

/** The public keys (and their user IDs) in a binary or armored keyring. */
export function keysOf(data: Buffer): OpenPgpKey[] {
  const keys: { fingerprint: string; keyId: string; subkey: boolean; userIds: string[] }[] = [];
  for (const packet of readPackets(binaryKey(data))) {
    // 6: a public key, 14: a public subkey, 13: a user ID (signatures and the rest are skipped).
    if (packet.tag === 6 || packet.tag === 14) {
      keys.push({ ...fingerprintOf(packet.body), subkey: packet.tag === 14, userIds: [] });
    } else if (packet.tag === 13) {
      const last = keys.findLast((key) => !key.subkey);
      last?.userIds.push(packet.body.toString('utf8'));
    }
  }
  return keys;
}

/** CRC-24 of RFC 4880 section 6.1, for the armor's `=XXXX` line. */
function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** ASCII armor for a binary public key (what `gpg --armor --export` writes). */
export function armor(data: Buffer): string {
  const crc = Buffer.from([
    (crc24(data) >> 16) & 0xff,
    (crc24(data) >> 8) & 0xff,
    crc24(data) & 0xff,
  ]);
  const body = data.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${body}\n=${crc.toString('base64')}\n-----END PGP PUBLIC KEY BLOCK-----\n`;
}
