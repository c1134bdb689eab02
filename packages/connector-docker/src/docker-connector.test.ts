import { collectNamesData } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { DockerConnector } from './docker-connector.js';

describe('DockerConnector.makeNamesData', () => {
  it('keeps every colon of the image and puts the host in @docker', async () => {
    expect(await collectNamesData(DockerConnector, 'alpine:3.20')).toEqual([
      ['@docker:alpine:3.20', { docker_identifier: 'alpine:3.20' }, ['@docker']],
    ]);
    expect(await collectNamesData(DockerConnector, 'registry:5000/team/app:1.2')).toEqual([
      [
        '@docker:registry:5000/team/app:1.2',
        { docker_identifier: 'registry:5000/team/app:1.2' },
        ['@docker'],
      ],
    ]);
  });

  it('asks for an image or a container when there is none', () => {
    expect(() => DockerConnector.makeNamesData(undefined)).toThrow(/@docker:alpine:3.20/);
  });
});
