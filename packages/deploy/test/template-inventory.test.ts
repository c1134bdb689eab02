import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction, RunHost } from '../src/index.js';
import { localHost, run, statuses } from './hosts.js';

describe('files.template sees the whole inventory (@local)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infra-template-inventory-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const hosts = (): RunHost[] => [
    { ...localHost('web1', { ip: '10.0.0.1' }), groups: ['web'] },
    { ...localHost('web2', { ip: '10.0.0.2' }), groups: ['web'] },
    { ...localHost('lb', { ip: '10.0.0.9' }), groups: ['lb'] },
  ];

  const UPSTREAM = [
    'upstream app {',
    '<% it.inventory.groups.web.forEach((h) => { %>  server <%= h.data.ip %>:<%= h.data.port %>; # <%= h.name %>',
    '<% }) %>}',
    '# <%= it.inventory.hosts.length %> hosts, this is <%= it.host.name %>',
    '',
  ].join('\n');

  it('an upstream block from the web group, rendered on the lb host only; twice', async () => {
    const fn: DeployFunction = async ({ ops, host }) => {
      if (host.name !== 'lb') return;
      await ops.files.template({ template: UPSTREAM, dest: join(dir, 'upstream.conf') });
    };
    const dry = await run(fn, hosts(), { dry: true, defaults: { port: 8080 } });
    expect(statuses(dry.planned)).toEqual(['files.template:changed']);
    await expect(readFile(join(dir, 'upstream.conf'))).rejects.toThrow(/ENOENT/);
    const first = await run(fn, hosts(), { defaults: { port: 8080 } });
    expect([...first.failedHosts.values()]).toEqual([]);
    expect(await readFile(join(dir, 'upstream.conf'), 'utf8')).toBe(
      'upstream app {\n  server 10.0.0.1:8080; # web1\n  server 10.0.0.2:8080; # web2\n}\n# 3 hosts, this is lb\n',
    );
    expect((await run(fn, hosts(), { defaults: { port: 8080 } })).ending).toBe('nothing-to-do');
  });
});
