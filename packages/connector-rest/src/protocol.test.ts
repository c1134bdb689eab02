import { describe, expect, it } from 'vitest';
import {
  encodeFilePath,
  parseExecAnswer,
  parseStreamEvent,
  readServerFeatures,
} from './protocol.js';

describe('readServerFeatures', () => {
  it('uses only extensions advertised at a version this connector speaks', () => {
    const features = readServerFeatures({
      extensions: {
        'exec-stream': [1, 2],
        'exec-stdin': [2],
        'files-raw': 1,
        'exec-env': [1],
        future: [1],
      },
      limits: { max_body_bytes: 1024 },
    });
    expect([...features.extensions].sort()).toEqual(['execEnv', 'execStream']);
    expect(features.maxBodyBytes).toBe(1024);
  });

  it('finds nothing in a base server resource JSON, and honours disabled names', () => {
    expect(readServerFeatures({ id: 'x' }).extensions.size).toBe(0);
    expect(readServerFeatures('not an object').extensions.size).toBe(0);
    const some = readServerFeatures({ extensions: { 'exec-stream': [1], 'files-raw': [1] } }, [
      'files-raw',
    ]);
    expect([...some.extensions]).toEqual(['execStream']);
  });
});

describe('parseExecAnswer', () => {
  it('accepts the base answer, and the exec-status extras when present', () => {
    expect(parseExecAnswer({ exit_code: 2, stdout: 'o', stderr: 'e' })).toEqual({
      exitCode: 2,
      stdout: 'o',
      stderr: 'e',
      signal: null,
      timedOut: false,
    });
    expect(parseExecAnswer({ exit_code: 143, signal: 'SIGTERM', timed_out: true })).toMatchObject({
      signal: 'SIGTERM',
      timedOut: true,
      stdout: '',
    });
  });

  it('names the bad field', () => {
    expect(parseExecAnswer({ exit_code: '0' })).toBe('"exit_code" is "0", expected an integer');
    expect(parseExecAnswer({ exit_code: 0, stdout: 1 })).toBe('"stdout" is not a string');
    expect(parseExecAnswer([])).toBe('the exec answer is not a JSON object');
  });
});

describe('parseStreamEvent', () => {
  it('decodes output, exit and error events and ignores unknown ones', () => {
    expect(parseStreamEvent('{"type":"stdout","data":"aGk="}')).toEqual({
      type: 'stdout',
      data: Buffer.from('hi'),
    });
    expect(
      parseStreamEvent('{"type":"exit","exit_code":0,"signal":null,"timed_out":false}'),
    ).toEqual({
      type: 'exit',
      exitCode: 0,
      signal: null,
      timedOut: false,
    });
    expect(parseStreamEvent('{"type":"error","message":"boom"}')).toEqual({
      type: 'error',
      message: 'boom',
    });
    expect(parseStreamEvent('{"type":"progress"}')).toEqual({ type: 'unknown' });
  });

  it('says what is wrong with a bad line', () => {
    expect(parseStreamEvent('nope')).toMatch(/not JSON/);
    expect(parseStreamEvent('{"type":"stderr"}')).toBe('a stderr event has no "data" string');
    expect(parseStreamEvent('{"type":"exit"}')).toMatch(/"exit_code" is undefined/);
  });
});

describe('encodeFilePath', () => {
  it('percent-encodes each segment and keeps the slashes', () => {
    expect(encodeFilePath('/etc/hosts')).toBe('/etc/hosts');
    expect(encodeFilePath("/a b/it's ü?#%")).toBe("/a%20b/it's%20%C3%BC%3F%23%25");
    expect(encodeFilePath('/new\nline')).toBe('/new%0Aline');
  });
});
