import { globToRegExp } from '@infra/connector-utils';
import { describe, expect, it } from 'vitest';
import {
  DockerContainersInventoryConnector,
  parseContainerFilter,
} from './docker-containers-inventory.js';

describe('parseContainerFilter', () => {
  it('splits on commas, then on the first = of each filter', () => {
    expect(
      parseContainerFilter(
        'label=role=web, label=tier,name=api-*,ancestor=nginx:1.27,host=tcp://h:2375',
      ),
    ).toEqual({
      labels: ['role=web', 'tier'],
      names: ['api-*'],
      ancestors: ['nginx:1.27'],
      host: 'tcp://h:2375',
    });
    expect(parseContainerFilter(undefined)).toEqual({ labels: [], names: [], ancestors: [] });
    expect(parseContainerFilter('')).toEqual({ labels: [], names: [], ancestors: [] });
  });

  it('refuses what it cannot read, naming the filter and the syntax', () => {
    expect(() => parseContainerFilter('status=exited')).toThrow(
      /unknown filter "status" in "status=exited": expected comma-separated KEY=VALUE filters/,
    );
    expect(() => parseContainerFilter('label')).toThrow(/"label" has no value/);
    expect(() => parseContainerFilter('label==x')).toThrow(/"label==x" has no label name/);
    expect(() => parseContainerFilter('name=a/b')).toThrow(/"name=a\/b" is not a name glob/);
    expect(() => parseContainerFilter('host=unix:///a,host=unix:///b')).toThrow(
      /host= is given twice/,
    );
    expect(() => parseContainerFilter('label=a,')).toThrow(/empty filter/);
  });
});

describe('@docker-containers host=', () => {
  it('refuses an ssh:// daemon, which only running hosts can reach', async () => {
    await expect(
      DockerContainersInventoryConnector.makeNamesData('label=web,host=ssh://deploy@web1'),
    ).rejects.toThrow(
      /@docker-containers:label=web,host=ssh:\/\/deploy@web1: the daemon at ssh:\/\/deploy@web1\/var\/run\/docker\.sock \(from docker_host\) is reached over ssh/,
    );
  });
});

describe('name globs (the shared globToRegExp)', () => {
  it('matches whole names, * any run, ? one character, the rest literally', () => {
    const glob = globToRegExp('api-?.v*');
    expect(glob.test('api-1.v2')).toBe(true);
    expect(glob.test('api-1.v')).toBe(true);
    expect(glob.test('api-12.v2')).toBe(false);
    expect(glob.test('api-1xv2')).toBe(false);
    expect(glob.test('my-api-1.v2')).toBe(false);
  });
});
