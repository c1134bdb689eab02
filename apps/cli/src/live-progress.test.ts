import type { OperationResult } from '@infra/deploy';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveProgressView } from './live-progress.js';

function result(host: string, status: OperationResult['status']): OperationResult {
  return {
    operation: 'files.put',
    name: 'files.put /etc/app.conf',
    host,
    status,
    changed: status === 'changed',
    success: status !== 'error',
    dry: false,
    commands: [],
    stdout: '',
    stderr: '',
  };
}

/** A terminal that records what was written to it. */
function terminal(columns = 60, rows = 24) {
  const writes: string[] = [];
  return { writes, columns, rows, write: (text: string) => writes.push(text) };
}

describe('LiveProgressView', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows the phase, counts and what each busy host runs, with x/y after the plan', () => {
    const sink = terminal(120);
    const view = new LiveProgressView(sink, ['web1', 'web2', 'db1'], false);
    view.update({ type: 'phase', phase: 'plan' });
    for (const host of ['web1', 'web2', 'db1']) {
      view.update({ type: 'operation', phase: 'plan', result: result(host, 'changed') });
      view.update({ type: 'operation', phase: 'plan', result: result(host, 'no-change') });
    }
    view.update({ type: 'phase', phase: 'execute' });
    view.update({ type: 'operation', phase: 'execute', result: result('web1', 'changed') });
    view.update({
      type: 'command',
      host: 'web1',
      operation: 'server.shell',
      name: 'restart web',
      command: 'true',
    });
    view.update({
      type: 'host-failed',
      host: 'db1',
      phase: 'execute',
      error: { code: 'X', message: 'gone' },
    });
    const lines = view.render();
    view.stop();
    expect(lines[0]).toMatch(
      /^. Applying changes · 3 hosts: 1 running, 1 failed · 1 changed, 0 no change, 0 errors · 0:00$/,
    );
    expect(lines.slice(1)).toEqual(['  web1    1/2  running restart web', '  db1     0/2  failed']);
  });

  it('counts an operation skipped by _if as skipped, not as no change', () => {
    const view = new LiveProgressView(terminal(120), ['web1'], false);
    view.update({ type: 'phase', phase: 'plan' });
    view.update({ type: 'operation', phase: 'plan', result: result('web1', 'skipped') });
    const [head] = view.render();
    view.stop();
    expect(head).toContain('0 to change, 0 no change, 1 skipped, 0 errors');
  });

  it('never writes a line wider than the terminal, and says how many hosts it left out', () => {
    const sink = terminal(30, 8);
    const names = Array.from({ length: 10 }, (_, i) => `host-with-a-long-name-${i}`);
    const view = new LiveProgressView(sink, names, false);
    view.update({ type: 'phase', phase: 'execute' });
    for (const host of names) {
      view.update({ type: 'command', host, operation: 'files.template', name: 'x', command: 'x' });
    }
    const lines = view.render();
    view.stop();
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(29);
    expect(lines.at(-1)).toBe('  ... and 7 more');
    expect(lines).toHaveLength(5);
  });

  it('draws on a timer, erases itself before lines printed above, and stays away while paused', () => {
    vi.useFakeTimers();
    const sink = terminal();
    const view = new LiveProgressView(sink, ['web1'], false);
    vi.advanceTimersByTime(100);
    expect(sink.writes).toHaveLength(1);
    expect(sink.writes[0]).toMatch(/Connecting · 1 hosts/);
    view.above(() => sink.write('[web1] changed\n'));
    // The view was one line (the heading): up one line and clear, then the printed line.
    expect(sink.writes.slice(1)).toEqual(['\x1b[1F\x1b[J', '[web1] changed\n']);
    view.pause();
    vi.advanceTimersByTime(500);
    expect(sink.writes).toHaveLength(3);
    view.resume();
    vi.advanceTimersByTime(100);
    expect(sink.writes).toHaveLength(4);
    view.stop();
    expect(sink.writes.at(-1)).toBe('\x1b[1F\x1b[J');
    vi.advanceTimersByTime(500);
    expect(sink.writes).toHaveLength(5);
  });
});
