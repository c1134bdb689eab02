import { describe, expect, it } from 'vitest';
import { ChannelLimiter } from './channel-limiter.js';
import { SshConnector } from './ssh-connector.js';
import { parseHostSpec, parseProxyJump } from './ssh-settings.js';

describe('parseHostSpec', () => {
  it('reads user, host and port', () => {
    expect(parseHostSpec('web1')).toEqual({ host: 'web1' });
    expect(parseHostSpec('deploy@web1:2222')).toEqual({ user: 'deploy', host: 'web1', port: 2222 });
    expect(parseHostSpec('[::1]:2200')).toEqual({ host: '::1', port: 2200 });
    expect(parseHostSpec('me@[fe80::1]')).toEqual({ user: 'me', host: 'fe80::1' });
    expect(parseHostSpec('ssh://a@b:3')).toEqual({ user: 'a', host: 'b', port: 3 });
  });

  it('says what was expected for bad input', () => {
    expect(() => parseHostSpec('web1:http')).toThrow(/port "http": expected a number/);
    expect(() => parseHostSpec('web1:70000')).toThrow(/from 1 to 65535/);
    expect(() => parseHostSpec('@web1')).toThrow(/expected \[user@\]host\[:port\]/);
  });

  it('splits ProxyJump hops', () => {
    expect(parseProxyJump('j1,me@j2:2022')).toEqual([
      { host: 'j1' },
      { user: 'me', host: 'j2', port: 2022 },
    ]);
  });
});

describe('SshConnector.makeNamesData', () => {
  it('turns user@host:port into data keys, keeping the name as written', () => {
    expect(SshConnector.makeNamesData('deploy@web1:2222')).toEqual([
      ['deploy@web1:2222', { ssh_hostname: 'web1', ssh_user: 'deploy', ssh_port: 2222 }, []],
    ]);
    expect(SshConnector.makeNamesData('web1')).toEqual([['web1', { ssh_hostname: 'web1' }, []]]);
  });
});

describe('ChannelLimiter', () => {
  it('waits for a free slot and adopts a lower server limit', async () => {
    const limiter = new ChannelLimiter(2);
    await limiter.acquire();
    await limiter.acquire();
    let third = false;
    const waiting = limiter.acquire().then(() => {
      third = true;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    limiter.release();
    await waiting;
    expect(third).toBe(true);
    expect(limiter.active).toBe(2);
    limiter.lowerTo(1);
    limiter.release();
    expect(limiter.active).toBe(1);
    let fourth = false;
    const next = limiter.acquire().then(() => {
      fourth = true;
    });
    await Promise.resolve();
    expect(fourth).toBe(false);
    limiter.release();
    await next;
    expect(fourth).toBe(true);
  });

  it('tells a slot holder when a channel has to wait, and lets a `first` one go ahead', async () => {
    const limiter = new ChannelLimiter(1);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    let told = 0;
    limiter.onWait = () => told++;
    const order: string[] = [];
    const queued = limiter.acquire().then(() => order.push('queued'));
    const first = limiter.acquire(true).then(() => order.push('first'));
    expect(told).toBe(2);
    expect(limiter.waiting).toBe(2);
    limiter.release();
    await first;
    limiter.release();
    await queued;
    expect(order).toEqual(['first', 'queued']);
  });
});
