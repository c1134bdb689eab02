import { describe, expect, it } from 'vitest';
import { parseConnectionString } from './connection-string.js';
import { InventoryError } from './errors.js';

describe('parseConnectionString', () => {
  it.each([
    ['@local', 'local', undefined],
    ['@ssh:web1', 'ssh', 'web1'],
    ['web1', 'ssh', 'web1'],
    ['user@web1:2222', 'ssh', 'user@web1:2222'],
    ['@docker:alpine:3.20', 'docker', 'alpine:3.20'],
    ['@docker/alpine:3.20', 'docker', 'alpine:3.20'],
    ['@rest:res-1', 'rest', 'res-1'],
    ['@docker-containers:label=role=web', 'docker-containers', 'label=role=web'],
    ['@custom/a/b:c', 'custom', 'a/b:c'],
  ])('%s -> %s %s', (input, connector, arg) => {
    expect(parseConnectionString(input)).toEqual({ connector, arg });
  });

  it.each([
    ['', /Empty inventory entry/],
    ['@', /"" is not a connector name/],
    ['@Bad:x', /"Bad" is not a connector name/],
    ['@ssh:', /has nothing after "@ssh:"/],
    ['two words', /white space/],
  ])('refuses %j with a message that says what was expected', (input, message) => {
    expect(() => parseConnectionString(input)).toThrow(InventoryError);
    expect(() => parseConnectionString(input)).toThrow(message);
  });
});
