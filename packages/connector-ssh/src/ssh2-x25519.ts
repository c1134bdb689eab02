import { createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import type { Client } from 'ssh2';

/**
 * ssh2's curve25519 key exchange moves the X25519 keys through DER: it exports
 * its public key as SPKI DER and wraps the server's in SPKI DER for
 * `createPublicKey`, both of which OpenSSL 3 runs through its decoder machinery
 * (about 0.2 ms each here, three per connection). As JWK the same keys take a few
 * microseconds. This gives ssh2's curve25519 exchange (found on the first
 * connection that used it) `getPublicKey` / `computeSecret` methods that do
 * that, with the same inputs and outputs. Left alone when ssh2's internals are
 * not as expected.
 */

interface Curve25519Exchange {
  type?: unknown;
  _keys?: { publicKey: KeyObject; privateKey: KeyObject } | null;
  generateKeys?: () => void;
  getPublicKey?: () => Buffer;
  computeSecret?: (otherPublicKey: Buffer) => Buffer | Error;
}

/** The SSH mpint form of a shared secret: no leading zeros, a zero byte when the top bit is set. */
export function toMpint(buf: Buffer): Buffer {
  let start = 0;
  while (start < buf.length && buf[start] === 0) start++;
  const rest = buf.subarray(start);
  if (rest.length > 0 && (rest[0]! & 0x80) !== 0) return Buffer.concat([Buffer.from([0]), rest]);
  return start === 0 ? buf : Buffer.from(rest);
}

let patched = false;

export function useJwkForX25519(client: Client): void {
  if (patched) return;
  const kex = (client as unknown as { _protocol?: { _kex?: Curve25519Exchange } })._protocol?._kex;
  if (kex?.type !== '25519') return;
  const proto = Object.getPrototypeOf(kex) as Curve25519Exchange | null;
  if (
    !proto ||
    typeof proto.generateKeys !== 'function' ||
    typeof proto.getPublicKey !== 'function' ||
    typeof proto.computeSecret !== 'function' ||
    !kex._keys?.publicKey
  ) {
    return;
  }
  patched = true;
  proto.getPublicKey = function getPublicKey(this: Curve25519Exchange) {
    this.generateKeys!();
    const { x } = this._keys!.publicKey.export({ format: 'jwk' });
    return Buffer.from(x!, 'base64url');
  };
  proto.computeSecret = function computeSecret(this: Curve25519Exchange, otherPublicKey: Buffer) {
    this.generateKeys!();
    try {
      const publicKey = createPublicKey({
        key: { kty: 'OKP', crv: 'X25519', x: otherPublicKey.toString('base64url') },
        format: 'jwk',
      });
      return toMpint(diffieHellman({ privateKey: this._keys!.privateKey, publicKey }));
    } catch (error) {
      return error as Error;
    }
  };
}
