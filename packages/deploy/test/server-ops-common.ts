import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { freeLoopbackPort } from '@infra/connector-testkit';
import { expect } from 'vitest';
import type { DeployFunction, RunEvent, RunHost } from '../src/index.js';
import { run, statuses } from './hosts.js';

/** A SysV init script (LSB header for update-rc.d): a sleep with a pid file. */
export const INIT_SCRIPT = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          infra-demo
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: infra demo
### END INIT INFO
PIDFILE=/tmp/infra-demo.pid
case "$1" in
  start) sleep 100000 >/dev/null 2>&1 & echo $! > "$PIDFILE" ;;
  stop) kill "$(cat "$PIDFILE")" && rm -f "$PIDFILE" ;;
  restart) "$0" stop; "$0" start ;;
  reload) kill -0 "$(cat "$PIDFILE")" ;;
  status) [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null ;;
  *) exit 3 ;;
esac
`;

/** Facts every target answers the same way; read in the execute pass only. */
export function probeDeploy(root: string, seen: Record<string, unknown>): DeployFunction {
  return async ({ ops, facts, dry }) => {
    await ops.files.put({ src: Buffer.from('probe\n'), dest: `${root}/a/one.txt` });
    await ops.files.directory({ path: `${root}/a/b` });
    await ops.files.link({ path: `${root}/a/b/link`, target: '../one.txt' });
    if (dry) return;
    seen.distribution = await facts.server.linuxDistribution();
    seen.command = await facts.server.command('echo probed; echo to-stderr >&2');
    seen.sha256 = await facts.files.sha256(`${root}/a/one.txt`);
    seen.noSha = await facts.files.sha256(`${root}/a/missing`);
    seen.all = await facts.files.find(`${root}/a`);
    seen.files = await facts.files.find({ path: `${root}/a`, type: 'f' });
    seen.shallow = await facts.files.find({ path: root, maxDepth: 1, type: 'd' });
    seen.named = await facts.files.find({ path: `${root}/a`, name: '*.txt' });
    seen.none = await facts.files.find(`${root}/nowhere`);
  };
}

export function expectProbe(root: string, seen: Record<string, unknown>, distributionId: string) {
  expect((seen.distribution as { id: string }).id).toBe(distributionId);
  expect(seen.command).toBe('probed');
  expect(seen.sha256).toBe(createHash('sha256').update('probe\n').digest('hex'));
  expect(seen.noSha).toBeNull();
  expect(seen.all).toEqual([`${root}/a`, `${root}/a/b`, `${root}/a/b/link`, `${root}/a/one.txt`]);
  expect(seen.files).toEqual([`${root}/a/one.txt`]);
  expect(seen.shallow).toEqual([root, `${root}/a`]);
  expect(seen.named).toEqual([`${root}/a/one.txt`]);
  expect(seen.none).toEqual([]);
}

/** A TCP server in this process that starts listening when server.wait's loop starts. */
export async function waitTwice(host: () => RunHost) {
  const port = await freeLoopbackPort();
  const wait: DeployFunction = async ({ ops }) => {
    await ops.server.wait({ port, interval: 0.1, timeout: 30 });
  };
  const dry = await run(wait, [host()], { dry: true });
  expect(statuses(dry.planned)).toEqual(['server.wait:changed']);

  const server: Server = createServer();
  try {
    const first = await run(wait, [host()], {
      onEvent: (event: RunEvent) => {
        if (event.type === 'command' && event.operation === 'server.wait' && !server.listening) {
          server.listen(port, '127.0.0.1');
        }
      },
    });
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(statuses(first.executed)).toEqual(['server.wait:changed']);
    expect(server.listening).toBe(true);
    expect((await run(wait, [host()])).ending).toBe('nothing-to-do');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const timedOut = await run(
    async ({ ops }) => {
      await ops.server.wait({ port, interval: 0.1, timeout: 0.3 });
    },
    [host()],
  );
  expect(timedOut.failedHosts.get(host().name)?.message).toMatch(
    new RegExp(`port ${port} is not listening after 0\\.3s`),
  );
}

/** server.scriptTemplate twice (always a change: it runs a script); --dry runs nothing. */
export async function scriptTemplateTwice(host: () => RunHost, out: string) {
  const fn: DeployFunction = async ({ ops }) => {
    await ops.server.scriptTemplate({
      template:
        'mkdir -p "$(dirname "$2")"\necho "<%= it.host.name %> <%= it.data.greeting %> $1" >> "$2"\n',
      args: ['run', out],
    });
  };
  const dry = await run(fn, [host()], { dry: true });
  expect(statuses(dry.planned)).toEqual(['server.scriptTemplate:changed']);
  for (let i = 0; i < 2; i++) {
    const outcome = await run(fn, [host()]);
    expect([...outcome.failedHosts.values()]).toEqual([]);
    expect(statuses(outcome.executed)).toEqual(['server.scriptTemplate:changed']);
  }
  let lines = '';
  await run(
    async ({ facts }) => {
      lines = await facts.server.command(`cat ${out}`);
    },
    [host()],
    { dry: true },
  );
  const name = host().name;
  expect(lines).toBe(`${name} hello run\n${name} hello run`);
}
