import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction, RunEvent, RunHost } from '../src/index.js';
import { localHost, run, statuses } from './hosts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-deploy-stop-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real local host whose disconnects are counted. */
function countedHost(name: string, disconnects: Map<string, number>): RunHost {
  const host = localHost(name);
  const connector = host.connector;
  const disconnect = connector.disconnect.bind(connector);
  connector.disconnect = async () => {
    disconnects.set(name, (disconnects.get(name) ?? 0) + 1);
    await disconnect();
  };
  return host;
}

/** Abort `controller` once the execute pass has run for `ms`. */
function abortDuringExecute(controller: AbortController, reason: string, ms: number) {
  return (event: RunEvent) => {
    if (event.type === 'phase' && event.phase === 'execute') {
      setTimeout(() => controller.abort(reason), ms);
    }
  };
}

const slowThenMore =
  (marker: (name: string, step: number) => string): DeployFunction =>
  async ({ ops, host }) => {
    await ops.server.shell({ commands: `sleep 0.8 && echo ran > ${marker(host.name, 1)}` });
    await ops.files.file({ path: marker(host.name, 2) });
  };

describe('stopping a deploy through the library API (Ctrl-C)', () => {
  const marker = (name: string, step: number) => join(dir, `${name}-${step}`);

  it('starts no new work, lets running commands end, disconnects every host, reports what ran', async () => {
    const disconnects = new Map<string, number>();
    const stop = new AbortController();
    const events: RunEvent[] = [];
    const record = abortDuringExecute(stop, 'SIGINT received', 200);
    const outcome = await run(
      slowThenMore((name, step) => marker(`soft-${name}`, step)),
      [countedHost('a', disconnects), countedHost('b', disconnects)],
      {
        signal: stop.signal,
        onEvent: (event) => {
          events.push(event);
          record(event);
        },
      },
    );
    expect(outcome.ending).toBe('stopped');
    expect(outcome.stopped).toBe('SIGINT received');
    expect(outcome.failedHosts.size).toBe(0);
    // The running command ended and is reported; the next operation never started.
    expect(statuses(outcome.executed)).toEqual(['server.shell:changed', 'server.shell:changed']);
    for (const name of ['a', 'b']) {
      expect(await readFile(marker(`soft-${name}`, 1), 'utf8')).toBe('ran\n');
      await expect(stat(marker(`soft-${name}`, 2))).rejects.toThrow(/ENOENT/);
    }
    expect(Object.fromEntries(disconnects)).toEqual({ a: 1, b: 1 });
    expect(events.at(-1)).toEqual({ type: 'phase', phase: 'disconnect' });
  });

  it('a kill signal (a second Ctrl-C) kills running commands; the host is not counted as failed', async () => {
    const disconnects = new Map<string, number>();
    const stop = new AbortController();
    const kill = new AbortController();
    const outcome = await run(
      slowThenMore((name, step) => marker(`hard-${name}`, step)),
      [countedHost('a', disconnects)],
      {
        signal: stop.signal,
        killSignal: kill.signal,
        onEvent: (event) => {
          if (event.type === 'phase' && event.phase === 'execute') {
            setTimeout(() => {
              stop.abort('SIGINT received');
              kill.abort('SIGINT received twice');
            }, 200);
          }
        },
      },
    );
    expect(outcome.ending).toBe('stopped');
    expect(outcome.failedHosts.size).toBe(0);
    expect(outcome.executed.map((r) => [r.status, r.error?.code, r.error?.message])).toEqual([
      ['error', 'RUN_STOPPED', 'Killed: SIGINT received twice.'],
    ]);
    await expect(stat(marker('hard-a', 1))).rejects.toThrow(/ENOENT/);
    expect(disconnects.get('a')).toBe(1);
  });

  it('stopGraceSeconds kills what still runs that long after the stop', async () => {
    const stop = new AbortController();
    const outcome = await run(
      async ({ ops }) => {
        await ops.server.shell({ commands: `sleep 20 && touch ${marker('grace', 1)}` });
      },
      [localHost('a')],
      {
        signal: stop.signal,
        stopGraceSeconds: 0.3,
        onEvent: abortDuringExecute(stop, 'SIGTERM received', 100),
      },
    );
    expect(outcome.ending).toBe('stopped');
    expect(outcome.executed[0]?.error).toEqual({
      code: 'RUN_STOPPED',
      message: 'Killed: SIGTERM received; killed after 0.3s.',
    });
    await expect(stat(marker('grace', 1))).rejects.toThrow(/ENOENT/);
  });
});
