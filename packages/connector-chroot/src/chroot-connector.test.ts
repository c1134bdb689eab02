import { buildConnectorData, collectNamesData } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { CHROOT_DATA_META, ChrootConnector } from './chroot-connector.js';

describe('ChrootConnector.makeNamesData', () => {
  it('makes one host from the directory in the connection string', async () => {
    expect(await collectNamesData(ChrootConnector, '/srv/root fs')).toEqual([
      ['@chroot:/srv/root fs', { chroot_directory: '/srv/root fs' }, ['@chroot']],
    ]);
  });

  it('refuses a missing or relative directory, saying what to write', () => {
    expect(() => ChrootConnector.makeNamesData(undefined)).toThrow(/e\.g\. @chroot:\/srv\/rootfs/);
    expect(() => ChrootConnector.makeNamesData('rootfs')).toThrow(/absolute path.*"rootfs"/);
  });
});

describe('CHROOT_DATA_META', () => {
  it('requires chroot_directory, naming the key', () => {
    expect(() => buildConnectorData('chroot', CHROOT_DATA_META, {})).toThrow(/chroot_directory/);
  });
});
