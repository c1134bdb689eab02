import { describe, expect, it } from 'vitest';
import { CommandOutput, isSuccess, LineSplitter, OutputCollector } from './output.js';

describe('LineSplitter', () => {
  it('splits across chunks, keeps multi-byte characters whole and drops \\r', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    const bytes = Buffer.from('a\r\nbé\n\nlast 日本', 'utf8');
    for (const byte of bytes) splitter.push(Buffer.from([byte]));
    splitter.end();
    expect(lines).toEqual(['a', 'bé', '', 'last 日本']);
  });

  it('emits nothing for an empty stream and no extra line after a final newline', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    splitter.push('x\n');
    splitter.end();
    expect(lines).toEqual(['x']);
  });
});

describe('OutputCollector and CommandOutput', () => {
  it('keeps the arrival order across streams and forwards lines as they come', () => {
    const seen: string[] = [];
    const collector = new OutputCollector((l) => seen.push(`${l.stream}:${l.line}`));
    collector.stdout.push('one\n');
    collector.stderr.push('two\n');
    collector.stdout.push('three');
    const output = collector.finish(3, null);
    expect(seen).toEqual(['stdout:one', 'stderr:two', 'stdout:three']);
    expect(output.stdout).toBe('one\nthree');
    expect(output.stderr).toBe('two');
    expect(output.combined).toBe('one\ntwo\nthree');
    expect(output.exitCode).toBe(3);
    expect(JSON.parse(JSON.stringify(output)).lines).toHaveLength(3);
  });

  it('isSuccess honours successExitCodes as a set and fails on signals', () => {
    expect(isSuccess(0, null)).toBe(true);
    expect(isSuccess(2, null, [0, 2])).toBe(true);
    expect(isSuccess(1, null, [0, 2])).toBe(false);
    expect(isSuccess(null, 'SIGKILL')).toBe(false);
    expect(new CommandOutput([], null, 'SIGTERM').signal).toBe('SIGTERM');
  });
});
