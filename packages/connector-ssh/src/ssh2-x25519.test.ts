import { diffieHellman, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toMpint } from './ssh2-x25519.js';

describe('toMpint', () => {
  it('drops leading zero bytes and adds one when the top bit is set, as SSH mpints are written', () => {
    expect(toMpint(Buffer.from([0x01, 0x02]))).toEqual(Buffer.from([0x01, 0x02]));
    expect(toMpint(Buffer.from([0x00, 0x00, 0x7f]))).toEqual(Buffer.from([0x7f]));
    expect(toMpint(Buffer.from([0x80, 0x01]))).toEqual(Buffer.from([0x00, 0x80, 0x01]));
    expect(toMpint(Buffer.from([0x00, 0xff]))).toEqual(Buffer.from([0x00, 0xff]));
  });

  it('keeps an X25519 shared secret the same number', () => {
    const ours = generateKeyPairSync('x25519');
    const theirs = generateKeyPairSync('x25519');
    const secret = diffieHellman({ privateKey: ours.privateKey, publicKey: theirs.publicKey });
    const mpint = toMpint(secret);
    expect(BigInt(`0x${mpint.toString('hex') || '0'}`)).toBe(BigInt(`0x${secret.toString('hex')}`));
  });
});
