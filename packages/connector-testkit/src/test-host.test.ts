import { SudoPasswordError } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { createTestHost, RecordingLogger } from './test-host.js';

describe('createTestHost', () => {
  it('gives a host with defaults that never ask for a sudo password', async () => {
    const host = createTestHost();
    expect(host.name).toBe('@test');
    expect(host.data).toEqual({});
    expect(host.hostData).toEqual({});
    await expect(host.sudoPassword.get()).rejects.toBeInstanceOf(SudoPasswordError);
  });

  it('takes the name, typed data and host data it is given', () => {
    const host = createTestHost({
      name: 'web1',
      data: { ssh_port: 2222 },
      hostData: { ssh_port: 2222, role: 'web' },
    });
    expect(host.name).toBe('web1');
    expect(host.data.ssh_port).toBe(2222);
    expect(host.hostData.role).toBe('web');
  });
});

describe('RecordingLogger', () => {
  it('keeps every message with its level, in order', () => {
    const log = new RecordingLogger();
    log.debug('one');
    log.info('two');
    log.warn('three');
    expect(log.messages).toEqual([
      { level: 'debug', message: 'one' },
      { level: 'info', message: 'two' },
      { level: 'warn', message: 'three' },
    ]);
    expect(log.text()).toBe('one\ntwo\nthree');
  });
});
