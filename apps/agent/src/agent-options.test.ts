import { describe, expect, it } from 'vitest';
import {
  AgentUsageError,
  isLoopback,
  parseAgentArgs,
  parseListen,
  parseSize,
} from './agent-options.js';

const run = (argv: string[]) => {
  const parsed = parseAgentArgs(argv, 'this-host');
  if (parsed.kind !== 'run') throw new Error(`expected run, got ${parsed.kind}`);
  return parsed.options;
};

describe('parseAgentArgs', () => {
  it('has safe defaults: loopback 8765, the hostname as resource ID', () => {
    expect(run([])).toMatchObject({
      host: '127.0.0.1',
      port: 8765,
      resourceId: 'this-host',
      insecureNoAuth: false,
      maxBodyBytes: 128 * 1024 * 1024,
      maxOutputBytes: 16 * 1024 * 1024,
      maxConcurrentCommands: 8,
    });
  });

  it('takes --flag value and --flag=value', () => {
    expect(
      run(['--listen', '[::1]:9000', '--resource-id=web1', '--max-body', '2M', '--max-timeout=5']),
    ).toMatchObject({
      host: '::1',
      port: 9000,
      resourceId: 'web1',
      maxBodyBytes: 2 * 1024 * 1024,
      maxTimeoutSeconds: 5,
    });
  });

  it('answers help and version', () => {
    expect(parseAgentArgs(['--listen', 'x', '--help']).kind).toBe('help');
    expect(parseAgentArgs(['--version']).kind).toBe('version');
  });

  it('refuses a token on the command line, unknown flags and missing values', () => {
    expect(() => run(['--token', 'abc'])).toThrow(/shows in `ps`/);
    expect(() => run(['--token=abc'])).toThrow(AgentUsageError);
    expect(() => run(['--nope'])).toThrow(/Unknown option "--nope"/);
    expect(() => run(['--listen'])).toThrow(/--listen needs a value/);
  });

  it('allows --insecure-no-auth only on loopback, and not with a token file', () => {
    expect(run(['--insecure-no-auth']).insecureNoAuth).toBe(true);
    expect(() => run(['--insecure-no-auth', '--listen', '0.0.0.0:1'])).toThrow(
      /only allowed on a loopback address/,
    );
    expect(() => run(['--insecure-no-auth', '--token-file', '/t'])).toThrow(/contradict/);
  });

  it('wants --tls-cert and --tls-key together', () => {
    expect(() => run(['--tls-cert', '/c'])).toThrow(/go together/);
    expect(run(['--tls-cert', '/c', '--tls-key', '/k'])).toMatchObject({
      tlsCertFile: '/c',
      tlsKeyFile: '/k',
    });
  });

  it('checks numbers and IDs, naming the flag', () => {
    expect(() => run(['--max-concurrent', '0'])).toThrow(
      /--max-concurrent "0": expected a positive integer/,
    );
    expect(() => run(['--shutdown-timeout', 'soon'])).toThrow(/--shutdown-timeout "soon"/);
    expect(() => run(['--resource-id', 'a/b'])).toThrow(/--resource-id "a\/b"/);
  });
});

describe('parseListen / parseSize / isLoopback', () => {
  it('parses HOST:PORT forms and refuses others', () => {
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListen('[::1]:8765')).toEqual({ host: '::1', port: 8765 });
    expect(() => parseListen('127.0.0.1')).toThrow(/expected HOST:PORT/);
    expect(() => parseListen('127.0.0.1:70000')).toThrow(/expected HOST:PORT/);
  });

  it('parses sizes in bytes and powers of 1024', () => {
    expect(parseSize('--max-body', '1024')).toBe(1024);
    expect(parseSize('--max-body', '4K')).toBe(4096);
    expect(parseSize('--max-body', '16MiB')).toBe(16 * 1024 * 1024);
    expect(parseSize('--max-body', '1g')).toBe(1024 ** 3);
    expect(() => parseSize('--max-body', '0')).toThrow(/at least 1 byte/);
    expect(() => parseSize('--max-body', 'lots')).toThrow(/--max-body "lots"/);
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost'])
      expect(isLoopback(host)).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.1', '::', 'example.com'])
      expect(isLoopback(host)).toBe(false);
  });
});
