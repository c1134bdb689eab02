import { describe, expect, it } from 'vitest';
import { planWith } from '../../test/plan-with.js';
import { OperationArgumentError } from '../errors.js';
import { parseAptSimulation, parseAptSources } from '../facts/apt-repo-facts.js';
import {
  aptRepoOperation,
  deb822Source,
  keyringPath,
  keyserverUrl,
  sourceFileName,
} from './apt-key-operations.js';
import { aptDebOperation, aptUpgradeOperation, debCachePath } from './apt-system-operations.js';
import { armor, dearmor, keysOf } from './openpgp-keys.js';

/** `gpg --quick-gen-key 'unit test <unit@example.invalid>' ed25519`, exported with --armor. */
const KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEawwiTRYJKwYBBAHaRw8BAQdAlP7k88W0H1EFtFjZcLJ3V5tNJRy/QbBrG6rE
wtqkdLm0IHVuaXQgdGVzdCA8dW5pdEBleGFtcGxlLmludmFsaWQ+iJAEExYIADgW
IQTSB9yFrJ4Ty9ABTdrZtdCaGhs6eQUCawwiTQIbAwULCQgHAgYVCgkICwIEFgID
AQIeAQIXgAAKCRDZtdCaGhs6eW73AQCfYjp8sSaJxoMczlSpt+bMoEmUgOg38Rv0
zk1pyFzrjgEAszrsRa4oGK7Za5YeEetKicvaYs7FxaT0VBtMKxLj+gc=
=7GvG
-----END PGP PUBLIC KEY BLOCK-----
`;

describe('OpenPGP keys without gpg', () => {
  it('dearmors as gpg --dearmor does and reads the fingerprint gpg prints', async () => {
    const { createHash } = await import('node:crypto');
    const binary = dearmor(KEY);
    // sha256 of `gpg --dearmor < key.asc` (and of `gpg --export`).
    expect(createHash('sha256').update(binary).digest('hex')).toBe(
      '6a443c16f4cad4f68ca54544828f08e22edc6846f632c102c2f5cf1e07eb6452',
    );
    expect(keysOf(binary)).toEqual([
      {
        fingerprint: 'D207DC85AC9E13CBD0014DDAD9B5D09A1A1B3A79',
        keyId: 'D9B5D09A1A1B3A79',
        subkey: false,
        userIds: ['unit test <unit@example.invalid>'],
      },
    ]);
    expect(keysOf(Buffer.from(KEY))).toEqual(keysOf(binary));
    // Armored again, byte for byte what gpg --armor wrote (checksum line too).
    expect(armor(binary)).toBe(KEY);
  });

  it('refuses text that is not a key', () => {
    expect(() => dearmor('hello')).toThrow(/not an ASCII-armored OpenPGP block/);
    expect(() => keysOf(Buffer.from('plain text'))).toThrow(/not an OpenPGP packet header/);
  });
});

describe('apt.repo', () => {
  it('writes deb822 from arguments or from a one-line src', () => {
    expect(
      deb822Source({
        uris: 'https://nginx.org/packages/debian',
        suites: 'bookworm',
        components: 'nginx',
        signedBy: 'nginx',
        architectures: ['amd64', 'arm64'],
      }),
    ).toBe(
      'Types: deb\nURIs: https://nginx.org/packages/debian\nSuites: bookworm\nComponents: nginx\nArchitectures: amd64 arm64\nSigned-By: /etc/apt/keyrings/nginx.gpg\n',
    );
    expect(
      deb822Source({
        src: 'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://x.example/debian stable main contrib',
      }),
    ).toBe(
      'Types: deb\nURIs: http://x.example/debian\nSuites: stable\nComponents: main contrib\nArchitectures: amd64\nSigned-By: /usr/share/keyrings/x.gpg\n',
    );
    expect(sourceFileName({ uris: 'https://nginx.org/packages/debian' })).toBe(
      'nginx.org-packages-debian',
    );
    expect(keyringPath('nginx.asc')).toBe('/etc/apt/keyrings/nginx.gpg');
    expect(keyringPath('/usr/share/keyrings/x.gpg')).toBe('/usr/share/keyrings/x.gpg');
  });

  it('names bad input', async () => {
    expect(() => deb822Source({ uris: 'http://x', suites: 'stable' })).toThrow(
      /components are required for suite stable/,
    );
    expect(() => deb822Source({ src: 'deb http://x' })).toThrow(/is not a one-line source/);
    expect(() =>
      deb822Source({ uris: 'http://x', suites: './', options: { 'X-A': 'a\nTypes: deb-src' } }),
    ).toThrow(/cannot be written/);
    await expect(
      planWith(aptRepoOperation, { uris: 'http://x', suites: './', filename: '../evil' }, {}),
    ).rejects.toThrow(/filename "..\/evil" is not a file name/);
  });

  it('removes the file only when it is there', async () => {
    const absent = await planWith(
      aptRepoOperation,
      { filename: 'x', present: false },
      { 'files.file': null },
    );
    expect(absent.commands).toEqual([]);
    const there = await planWith(
      aptRepoOperation,
      { filename: 'x', present: false },
      {
        'files.file': { type: 'file', mode: '644', user: 'root', group: 'root', size: 1, mtime: 0 },
      },
    );
    expect(there.commands).toEqual(['rm -f /etc/apt/sources.list.d/x.sources']);
  });
});

describe('apt facts', () => {
  it('reads one-line and deb822 sources', () => {
    const sources = parseAptSources([
      '==> /etc/apt/sources.list',
      '# comment',
      'deb [signed-by=/k.gpg arch=amd64,arm64] http://deb.debian.org/debian bookworm main # trailing',
      '==> /etc/apt/sources.list.d/debian.sources',
      'Types: deb deb-src',
      'URIs: http://deb.debian.org/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Enabled: no',
      'Check-Valid-Until: no',
      '',
    ]);
    expect(sources).toEqual([
      {
        file: '/etc/apt/sources.list',
        format: 'one-line',
        types: ['deb'],
        uris: ['http://deb.debian.org/debian'],
        suites: ['bookworm'],
        components: ['main'],
        signedBy: '/k.gpg',
        architectures: ['amd64', 'arm64'],
        enabled: true,
        options: {},
      },
      {
        file: '/etc/apt/sources.list.d/debian.sources',
        format: 'deb822',
        types: ['deb', 'deb-src'],
        uris: ['http://deb.debian.org/debian'],
        suites: ['bookworm', 'bookworm-updates'],
        components: ['main'],
        enabled: false,
        options: { 'Check-Valid-Until': 'no' },
      },
    ]);
  });

  it('reads apt-get -s output', () => {
    expect(
      parseAptSimulation([
        'Reading package lists...',
        'Inst infra-hello [1.0] (1.1 infra-test [all])',
        'Conf infra-hello (1.1 infra-test [all])',
        'Remv old-lib [2.0]',
      ]),
    ).toEqual({ install: ['infra-hello'], remove: ['old-lib'] });
  });

  it('apt.upgrade has nothing to do when the simulation is empty', async () => {
    const none = await planWith(
      aptUpgradeOperation,
      {},
      {
        'apt.simulate': { install: [], remove: [] },
      },
    );
    expect(none.commands).toEqual([]);
  });

  it('keyserver and cache paths', () => {
    expect(keyserverUrl('hkps://keys.openpgp.org', '0xABCD')).toBe(
      'https://keys.openpgp.org/pks/lookup?op=get&options=mr&search=0xABCD',
    );
    expect(keyserverUrl('hkp://keyserver.ubuntu.com', 'ABCD')).toBe(
      'http://keyserver.ubuntu.com:11371/pks/lookup?op=get&options=mr&search=0xABCD',
    );
    expect(debCachePath('http://x/a_1.0_all.deb?x=1')).toMatch(
      /^\/var\/cache\/infra\/debs\/[0-9a-f]{16}-a_1\.0_all\.deb$/,
    );
  });
});

describe('apt.deb', () => {
  it('names a missing .deb path as a bad argument, as yum.rpm does', async () => {
    const planned = planWith(aptDebOperation, { src: '/srv/missing.deb' }, { 'apt.debFile': null });
    await expect(planned).rejects.toBeInstanceOf(OperationArgumentError);
    await expect(planned).rejects.toMatchObject({
      code: 'OPERATION_ARGUMENT_INVALID',
      message: expect.stringMatching(/^apt\.deb: \/srv\/missing\.deb is not a file on unit-host/),
    });
    const removed = await planWith(
      aptDebOperation,
      { src: '/srv/missing.deb', present: false },
      { 'apt.debFile': null },
    );
    expect(removed.commands).toEqual([]);
  });
});
