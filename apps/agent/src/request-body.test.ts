import { describe, expect, it } from 'vitest';
import { outputText } from './command-runner.js';
import {
  decodeBase64Field,
  type HttpError,
  optionalEnv,
  parseJsonObject,
  requireAbsolutePath,
  requirePositiveNumber,
  requireString,
} from './request-body.js';
import { bearerToken, tokenMatches } from './token.js';

const status = (fn: () => unknown): number => {
  try {
    fn();
  } catch (error) {
    return (error as HttpError).status;
  }
  return 0;
};

describe('request validation', () => {
  it('parses JSON objects only', () => {
    expect(parseJsonObject(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(() => parseJsonObject(Buffer.from('{'))).toThrow(/not valid JSON/);
    expect(() => parseJsonObject(Buffer.from('"text"'))).toThrow(
      /must be a JSON object, got a string/,
    );
    expect(status(() => parseJsonObject(Buffer.from('null')))).toBe(400);
  });

  it('names the field that is missing or of the wrong type', () => {
    expect(requireString({ command: 'ls' }, 'command')).toBe('ls');
    expect(() => requireString({}, 'command')).toThrow('Missing field "command" (a string).');
    expect(() => requireString({ command: [] }, 'command')).toThrow(
      'Field "command" must be a string, got an array.',
    );
    expect(requirePositiveNumber({ timeout: 0.5 }, 'timeout')).toBe(0.5);
    expect(() => requirePositiveNumber({ timeout: -1 }, 'timeout')).toThrow(/got -1/);
    expect(() => requirePositiveNumber({ timeout: null }, 'timeout')).toThrow(/got null/);
  });

  it('wants absolute paths without NUL', () => {
    expect(requireAbsolutePath('/etc/hosts', 'path')).toBe('/etc/hosts');
    expect(() => requireAbsolutePath('etc/hosts', 'Field "path"')).toThrow(
      /Field "path" must be an absolute path/,
    );
    expect(() => requireAbsolutePath('/a\0b', 'path')).toThrow(/NUL/);
  });

  it('decodes strict base64 only', () => {
    expect(decodeBase64Field('aGk=', 'content').toString()).toBe('hi');
    expect(decodeBase64Field('', 'content').length).toBe(0);
    expect(() => decodeBase64Field('aGk', 'content')).toThrow('Field "content" must be base64');
    expect(() => decodeBase64Field('a!k=', 'content')).toThrow(/base64/);
  });

  it('checks env names and values', () => {
    expect(optionalEnv({}, 'env')).toBeUndefined();
    expect(optionalEnv({ env: { A_1: 'x' } }, 'env')).toEqual({ A_1: 'x' });
    expect(() => optionalEnv({ env: { 'A-B': 'x' } }, 'env')).toThrow(/"A-B" is not a valid/);
    expect(() => optionalEnv({ env: { A: 1 } }, 'env')).toThrow(
      'Field "env.A" must be a string, got a number.',
    );
  });
});

describe('tokens', () => {
  it('compares tokens of any length', () => {
    expect(tokenMatches('secret', 'secret')).toBe(true);
    expect(tokenMatches('secret', 'secret2')).toBe(false);
    expect(tokenMatches('', 'secret')).toBe(false);
  });

  it('reads the bearer token of an Authorization header', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('outputText', () => {
  it('appends a truncation marker on its own line', () => {
    expect(outputText(Buffer.from('abc'), false, 'stdout', 3)).toBe('abc');
    expect(outputText(Buffer.from('abc'), true, 'stderr', 3)).toBe(
      'abc\n[infra-agent: stderr truncated: the command printed more than 3 bytes; the rest was dropped (--max-output)]\n',
    );
  });
});
