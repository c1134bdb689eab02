import { describe, expect, it } from 'vitest';
import { DockerHostError, resolveDockerHost } from './docker-host.js';

const noFiles = (path: string): Buffer => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
};

describe('resolveDockerHost', () => {
  it('uses docker_host first, then DOCKER_HOST, then the local socket', () => {
    expect(resolveDockerHost('unix:///a.sock', { DOCKER_HOST: 'unix:///b.sock' })).toMatchObject({
      options: { socketPath: '/a.sock' },
      description: 'unix:///a.sock',
      source: 'docker_host',
    });
    expect(resolveDockerHost(undefined, { DOCKER_HOST: 'unix:///b.sock' })).toMatchObject({
      options: { socketPath: '/b.sock' },
      source: 'DOCKER_HOST',
    });
    expect(resolveDockerHost(undefined, {})).toMatchObject({
      options: { socketPath: '/var/run/docker.sock' },
      description: 'unix:///var/run/docker.sock',
      source: 'default',
    });
  });

  it('talks plain http to tcp:// without TLS settings, on port 2375 by default', () => {
    const address = resolveDockerHost('tcp://docker.example', {}, noFiles);
    expect(address.options).toMatchObject({ host: 'docker.example', port: 2375, protocol: 'http' });
    expect(address.description).toBe('tcp://docker.example:2375');
    expect(address.tls).toBe('off');
  });

  it('turns TLS on with DOCKER_TLS_VERIFY and reads the certificates from DOCKER_CERT_PATH', () => {
    const read: string[] = [];
    const address = resolveDockerHost(
      'tcp://10.0.0.5',
      { DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' },
      (path) => {
        read.push(path);
        return Buffer.from(`pem of ${path}`);
      },
    );
    expect(read.sort()).toEqual(['/certs/ca.pem', '/certs/cert.pem', '/certs/key.pem']);
    expect(address.tls).toBe('verify');
    expect(address.description).toBe('tcp://10.0.0.5:2376');
    expect(address.options).toMatchObject({
      host: '10.0.0.5',
      port: 2376,
      protocol: 'https',
      ca: Buffer.from('pem of /certs/ca.pem'),
      cert: Buffer.from('pem of /certs/cert.pem'),
    });
  });

  it('uses TLS without checking the server with DOCKER_TLS alone, and without client files when there are none', () => {
    const address = resolveDockerHost(
      'tcp://h:1234',
      { DOCKER_TLS: '1', DOCKER_CERT_PATH: '/x' },
      noFiles,
    );
    expect(address.tls).toBe('no-verify');
    expect(address.options).toMatchObject({ host: 'h', port: 1234, protocol: 'https' });
    expect(address.options).not.toHaveProperty('cert');
  });

  it('reads ssh:// as the docker CLI does: the default socket on that host, or the path given', () => {
    expect(resolveDockerHost('ssh://deploy@web1', {})).toMatchObject({
      options: {},
      description: 'ssh://deploy@web1/var/run/docker.sock',
      source: 'docker_host',
      ssh: { user: 'deploy', host: 'web1', socketPath: '/var/run/docker.sock' },
    });
    const fromEnv = resolveDockerHost(undefined, {
      DOCKER_HOST: 'ssh://[::1]:2222/run/user/1000/docker.sock',
    });
    expect(fromEnv.source).toBe('DOCKER_HOST');
    expect(fromEnv.ssh).toEqual({
      host: '::1',
      port: 2222,
      socketPath: '/run/user/1000/docker.sock',
    });
    expect(fromEnv.description).toBe('ssh://[::1]:2222/run/user/1000/docker.sock');
  });

  it('refuses ssh:// addresses with a password, a query or no host, naming the address', () => {
    expect(() => resolveDockerHost('ssh://u:secret@web1', {})).toThrow(
      /docker_host "ssh:\/\/u:\*\*\*@web1" carries a password/,
    );
    expect(() => resolveDockerHost('ssh://u:secret@web1:99999', {})).toThrow(
      /"ssh:\/\/u:\*\*\*@web1:99999" is not an address/,
    );
    expect(() => resolveDockerHost('ssh://web1?x=1', {})).toThrow(/has a query/);
    expect(() => resolveDockerHost('ssh://web1:99999', {})).toThrow(/is not an address/);
    expect(() => resolveDockerHost(undefined, { DOCKER_HOST: 'ssh://' })).toThrow(
      /DOCKER_HOST "ssh:\/\/" (has no host name|is not an address)/,
    );
  });

  it('refuses addresses it cannot use, naming where they came from', () => {
    expect(() => resolveDockerHost('fd://', {})).toThrow(DockerHostError);
    expect(() => resolveDockerHost(undefined, { DOCKER_HOST: 'npipe:////./pipe/x' })).toThrow(
      /DOCKER_HOST "npipe/,
    );
    expect(() => resolveDockerHost('unix://', {})).toThrow(/no socket path/);
    expect(() => resolveDockerHost('docker.sock', {})).toThrow(/expected unix:\/\/\//);
  });
});
