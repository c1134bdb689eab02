import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectorNotFoundError, ConnectorSpecError } from './errors.js';
import { ConnectorResolver } from './resolver.js';

const root = mkdtempSync(join(tmpdir(), 'infra-resolver-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONNECTOR_SOURCE = (version: string, extra = '') => `
export default class FakeConnector {
  static specificationVersion = ${JSON.stringify(version)};
  static handlesExecution = true;
  static dataMeta = {};
  static makeNamesData(arg) { return [[arg ?? 'x', {}, []]]; }
  async connect() {} async disconnect() {}
  async runShellCommand() {} async putFile() {} async getFile() {}
}
${extra}`;

function writePackage(
  dir: string,
  name: string,
  connectors: Record<string, string>,
  source: string,
) {
  mkdirSync(join(dir, 'dist'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, version: '1.2.3', infra: { connectors } }),
  );
  writeFileSync(join(dir, 'dist', 'index.js'), source);
}

const project = join(root, 'project');
const cliInstall = join(root, 'cli', 'node_modules', '@infra', 'cli');
writePackage(
  join(project, 'node_modules', '@infra', 'connector-fake'),
  '@infra/connector-fake',
  { fake: './dist/index.js' },
  CONNECTOR_SOURCE('v1'),
);
writePackage(
  join(project, 'node_modules', 'acme-connectors'),
  'acme-connectors',
  { custom: './dist/index.js', api: './dist/index.js#ApiConnector' },
  CONNECTOR_SOURCE(
    'v1',
    'export class ApiConnector extends FakeConnector { static handlesExecution = false; }',
  ),
);
writePackage(
  join(project, 'node_modules', 'old-connector'),
  'old-connector',
  { old: './dist/index.js' },
  CONNECTOR_SOURCE('v0'),
);
writePackage(
  join(project, 'node_modules', 'broken-connector'),
  'broken-connector',
  { broken: './dist/index.js' },
  'export default 42;',
);
writePackage(
  join(root, 'cli', 'node_modules', '@infra', 'connector-extra'),
  '@infra/connector-extra',
  { extra: './dist/index.js' },
  CONNECTOR_SOURCE('v1'),
);
mkdirSync(cliInstall, { recursive: true });
mkdirSync(join(project, 'node_modules', 'plain-lib'), { recursive: true });
writeFileSync(join(project, 'node_modules', 'plain-lib', 'package.json'), '{"name":"plain-lib"}');

const resolver = () =>
  new ConnectorResolver({
    projectDir: project,
    fallbackDirs: [cliInstall],
    packageHint: (name) => (name === 'ssh' ? '@infra/connector-ssh' : undefined),
  });

describe('ConnectorResolver', () => {
  it('lists connectors from the project, then from the CLI install, several per package', async () => {
    const list = await resolver().list();
    expect(list.map((c) => `${c.name}:${c.packageName}:${c.origin}`)).toEqual([
      'api:acme-connectors:project',
      'broken:broken-connector:project',
      'custom:acme-connectors:project',
      'extra:@infra/connector-extra:cli',
      'fake:@infra/connector-fake:project',
      'old:old-connector:project',
    ]);
  });

  it('loads default and named exports', async () => {
    const r = resolver();
    const fake = await r.load('fake');
    expect(fake.connectorClass.handlesExecution).toBe(true);
    expect(fake.info.packageVersion).toBe('1.2.3');
    const api = await r.load('api');
    expect(api.connectorClass.handlesExecution).toBe(false);
    expect((await r.load('extra')).info.origin).toBe('cli');
  });

  it('refuses a connector built for another specification version, saying what to do', async () => {
    await expect(resolver().load('old')).rejects.toThrow(ConnectorSpecError);
    await expect(resolver().load('old')).rejects.toThrow(
      /specification "v0", but this infra expects "v1"/,
    );
    await expect(resolver().load('broken')).rejects.toThrow(/does not export a connector class/);
  });

  it('an unknown name lists what is installed and names the package to install', async () => {
    const error = await resolver()
      .load('ssh')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorNotFoundError);
    expect((error as Error).message).toMatch(/No connector named "ssh" is installed/);
    expect((error as Error).message).toMatch(/fake \(@infra\/connector-fake\)/);
    expect((error as Error).message).toMatch(/npm install @infra\/connector-ssh/);
    await expect(resolver().load('zzz')).rejects.toThrow(
      /registers "zzz" in the "infra.connectors" field/,
    );
  });
});
