import { FACTS } from '@infra/deploy';
import { describe, expect, it } from 'vitest';
import { checkFactArguments } from './fact-arguments.js';

const fact = (name: string) => {
  const definition = FACTS[name];
  if (!definition) throw new Error(`no fact ${name}`);
  return definition;
};

describe('checkFactArguments', () => {
  it('lets an optional argument be left out, and still takes it when given', () => {
    expect(checkFactArguments(fact('git.commit'), { repo: '/srv/app' })).toEqual({
      repo: '/srv/app',
    });
    expect(checkFactArguments(fact('git.commit'), { repo: '/srv/app', rev: 'v1' })).toEqual({
      repo: '/srv/app',
      rev: 'v1',
    });
    expect(checkFactArguments(fact('crontab.entries'), {})).toEqual({});
  });

  it('still asks for a required argument, showing optional ones in brackets', () => {
    expect(() => checkFactArguments(fact('git.commit'), { rev: 'v1' })).toThrow(
      /fact git\.commit needs the argument repo \(usage: infra INVENTORY fact git\.commit repo=VALUE \[rev=VALUE\]\)/,
    );
  });
});
