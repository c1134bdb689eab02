import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFakeConnectorProject, parseEvents, runInfra } from './infra-process.js';

// Mistakes a newcomer makes, and what infra says about them: the host, the file
// (and group, or --data), the nearest right name, exit code 2, nothing run.

let dir: string;
let fakeProject: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infra-cli-input-'));
  fakeProject = await makeFakeConnectorProject();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(fakeProject, { recursive: true, force: true });
});

const infra = (args: string[]) => runInfra(args, { cwd: dir });
const inFake = (args: string[]) => runInfra(args, { cwd: fakeProject });

describe('connector data keys', () => {
  it('refuses a misspelled ssh key in an inventory, naming host, file, group and the right key', async () => {
    await writeFile(
      join(dir, 'typo.yaml'),
      'groups:\n  web:\n    hosts: ["@ssh:web1"]\n    data:\n      ssh_hostname: 127.0.0.1\n      ssh_prot: 2222\n',
    );
    const result = await infra(['typo.yaml', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'Host "web1": unknown data key ssh_prot (set in typo.yaml, group "web"): did you mean ssh_port?',
    );
    expect(result.stderr).not.toContain('ECONNREFUSED');
  });

  it('warns about a misspelled --data key, naming --data, the host and the right key', async () => {
    const result = await inFake(['@fake:w1', 'exec', '--data', 'fake_greting=hi', '--', 'true']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'warning: --data fake_greting on "w1": did you mean fake_greeting?',
    );
    const ssh = await infra([
      '@ssh:127.0.0.1',
      'exec',
      '--data',
      'ssh_prot=2222',
      '--data',
      'ssh_port=1',
      '--',
      'true',
    ]);
    expect(ssh.stderr).toContain('warning: --data ssh_prot on "127.0.0.1": did you mean ssh_port?');
  });

  it('leaves keys alone that are no connector key family of the host', async () => {
    const result = await inFake([
      '@fake:w1',
      'exec',
      '--data',
      'app_port=80',
      '--data',
      'ssh_prot=1',
      '--',
      'true',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain('warning');
  });
});

describe('host data errors', () => {
  it('name the host and the file and group that set the value', async () => {
    await writeFile(
      join(dir, 'twenty.yaml'),
      'groups:\n  web:\n    hosts: ["@ssh:web1"]\n    data:\n      ssh_port: twenty\n',
    );
    const result = await infra(['twenty.yaml', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Host "web1": data ssh_port is string "twenty"');
    expect(result.stderr).toContain('It is set in twenty.yaml, group "web".');
  });

  it('refuse a port out of range before connecting, naming --data', async () => {
    const result = await infra(['@ssh:127.0.0.1', 'exec', '--data', 'ssh_port=-5', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'Host "127.0.0.1": data ssh_port is -5, expected from 1 to 65535',
    );
    expect(result.stderr).toContain('It is set in --data.');
  });
});

describe('deploy files that cannot be loaded', () => {
  it('exit 2 with the file named and without Node\'s "Require stack"', async () => {
    await writeFile(join(dir, 'syntax.ts'), 'export default {\n');
    await writeFile(
      join(dir, 'import.ts'),
      "import x from 'no-such-package-here';\nexport default x;\n",
    );
    await writeFile(join(dir, 'nodefault.ts'), 'export const x = 1;\n');
    const cases: [string, RegExp][] = [
      ['missing.ts', /Deploy file missing\.ts: there is no such file/],
      ['syntax.ts', /Deploy file syntax\.ts: could not be loaded: .*syntax\.ts:2/],
      [
        'import.ts',
        /Deploy file import\.ts: could not be loaded: Cannot find module 'no-such-package-here'/,
      ],
      ['nodefault.ts', /Deploy file nodefault\.ts: has no default export from deploy\(\)/],
    ];
    for (const [file, message] of cases) {
      const result = await infra(['@local', file, '--dry']);
      expect(result.code, file).toBe(2);
      expect(result.stderr, file).toMatch(message);
      expect(result.stderr, file).not.toContain('Require stack');
    }
  });
});

describe('inventory files that cannot be loaded', () => {
  it('exit 2 naming the file, without Node\'s "Require stack"', async () => {
    await writeFile(
      join(dir, 'bad-import.ts'),
      "import x from 'no-such-package-here';\nexport default x;\n",
    );
    const missing = await infra(['no-such-inventory.yaml', 'exec', '--', 'true']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'Inventory file no-such-inventory.yaml: there is no such file',
    );
    const broken = await infra(['bad-import.ts', 'exec', '--', 'true']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(
      "Could not read the inventory file bad-import.ts: Cannot find module 'no-such-package-here'",
    );
    expect(broken.stderr).not.toContain('Require stack');
  });
});

describe('infra INVENTORY fact', () => {
  it('refuses a missing or misspelled argument with exit 2, naming it', async () => {
    const missing = await infra(['@local', 'fact', 'files.file']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('fact files.file needs the argument path');
    expect(missing.stderr).not.toContain('render');
    expect(missing.stdout).toBe('');
    const typo = await infra(['@local', 'fact', 'files.file', 'pth=/etc']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown argument "pth" (did you mean path?)');
    const debug = await infra(['@local', 'fact', 'files.file', '--debug']);
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at .*checkFactArguments/);
  });

  it('lists hosts in inventory order, also when the first one answers last', async () => {
    await writeFile(
      join(fakeProject, 'slow-first.json'),
      JSON.stringify({ hosts: [['@fake:slow', { fake_connect_delay: 400 }], '@fake:quick'] }),
    );
    const text = await inFake(['slow-first.json', 'fact', 'server.arch']);
    expect(text.code).toBe(0);
    expect(Object.keys(JSON.parse(text.stdout))).toEqual(['slow', 'quick']);
    const json = await inFake(['slow-first.json', 'fact', 'server.arch', '--json']);
    expect(parseEvents(json.stdout).map((event) => event.host)).toEqual(['slow', 'quick']);
  });
});

describe('typos', () => {
  it('exec uname -a says to put the command after --', async () => {
    const result = await infra(['@local', 'exec', 'uname', '-a']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown option -a');
    expect(result.stderr).toContain(
      'Put the command after --, e.g. infra @local exec -- uname -a.',
    );
  });

  it('@sssh:host suggests @ssh', async () => {
    const result = await infra(['@sssh:host', 'exec', '--', 'true']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('No connector named "sssh" is installed. Did you mean @ssh?');
  });

  it('a bare name one edit from a connector name gets a hint before it is tried over ssh', async () => {
    const result = await infra(['lcoal', 'exec', '--', 'true']);
    const hint = result.stderr.indexOf('did you mean the local connector, @local?');
    expect(hint).toBeGreaterThanOrEqual(0);
    expect(result.stderr.indexOf('[lcoal] could not connect')).toBeGreaterThan(hint);
  });
});
