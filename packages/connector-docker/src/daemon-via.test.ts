import { describe, expect, it } from 'vitest';
import { DockerConnector, PodmanConnector } from './index.js';

describe('viaOf: the @ssh host an ssh:// daemon address runs through', () => {
  it('names the user, host and port of docker_host, which win over other ssh data', () => {
    expect(DockerConnector.viaOf({ docker_host: 'ssh://deploy@web1:2222' })).toEqual({
      connection: '@ssh:deploy@web1',
      data: { ssh_hostname: 'web1', ssh_user: 'deploy', ssh_port: 2222 },
    });
    expect(DockerConnector.viaOf({ docker_host: 'ssh://web1/run/user/1000/docker.sock' })).toEqual({
      connection: '@ssh:web1',
      data: { ssh_hostname: 'web1' },
    });
  });

  it('is undefined for a local or tcp daemon', () => {
    expect(DockerConnector.viaOf({ docker_host: 'unix:///var/run/docker.sock' })).toBeUndefined();
    expect(DockerConnector.viaOf({ docker_host: 'tcp://10.0.0.1:2375' })).toBeUndefined();
    expect(
      PodmanConnector.viaOf({ podman_host: 'unix:///run/podman/podman.sock' }),
    ).toBeUndefined();
  });

  it('reads DOCKER_HOST, and CONTAINER_HOST for podman, when the data key is not given', () => {
    const saved = {
      DOCKER_HOST: process.env.DOCKER_HOST,
      CONTAINER_HOST: process.env.CONTAINER_HOST,
    };
    process.env.DOCKER_HOST = 'ssh://ops@[::1]';
    process.env.CONTAINER_HOST = 'ssh://core@web2:2200/run/podman/podman.sock';
    try {
      expect(DockerConnector.viaOf({})).toEqual({
        connection: '@ssh:ops@[::1]',
        data: { ssh_hostname: '::1', ssh_user: 'ops' },
      });
      expect(PodmanConnector.viaOf({})).toEqual({
        connection: '@ssh:core@web2',
        data: { ssh_hostname: 'web2', ssh_user: 'core', ssh_port: 2200 },
      });
      // A data key given wins over the variable.
      expect(DockerConnector.viaOf({ docker_host: 'unix:///d.sock' })).toBeUndefined();
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it('refuses via= (the address says where the daemon is) and a bad ssh:// address', () => {
    expect(() => DockerConnector.viaOf({ via: '@ssh:web1' })).toThrow(
      /via=@ssh:web1 is not for this connector.*docker_host=ssh:\/\/user@host/,
    );
    expect(() => PodmanConnector.viaOf({ via: '@ssh:web1' })).toThrow(/podman_host=ssh:\/\//);
    expect(() => DockerConnector.viaOf({ docker_host: 'ssh://u:pw@web1' })).toThrow(
      /docker_host "ssh:\/\/u:\*\*\*@web1" carries a password/,
    );
    let caught: unknown;
    try {
      PodmanConnector.viaOf({ podman_host: 'ssh://web1?x' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'INVENTORY_INVALID' });
    expect((caught as Error).message).toMatch(/podman_host "ssh:\/\/web1\?x" has a query/);
  });
});
