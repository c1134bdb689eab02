import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  debianImageMissingReason,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  useDockerd,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployFunction, RunHost } from '../src/index.js';
import { buildAppImage } from './app-image.js';
import {
  dockerHost,
  localHost,
  removeContainer,
  run,
  sshHost,
  startContainer,
  statuses,
} from './hosts.js';
import { pythonMissingReason, writeWheel } from './wheelhouse.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const noPython = pythonMissingReason();
const noSshd = peerMissing('sshd', sshdMissingReason());
const noDebian = noDockerd ?? debianImageMissingReason();

/** A local wheelhouse with infra-demo-app 1.0 and 1.1, built by the test (no index). */
let wheels: { v10: string; v11: string; dir: string };

beforeAll(async () => {
  if (noPython) return;
  const dir = await mkdtemp(join(tmpdir(), 'infra-wheels-'));
  // Readable by the ssh test user too (uploaded from here over sftp either way).
  await chmod(dir, 0o755);
  wheels = {
    dir,
    v10: writeWheel(dir, 'infra-demo-app', '1.0'),
    v11: writeWheel(dir, 'infra-demo-app', '1.1'),
  };
});
afterAll(async () => {
  if (wheels) await rm(wheels.dir, { recursive: true, force: true });
});

/** The installed version as the venv's python sees it ('none' when it cannot import it). */
async function installedVersion(host: RunHost, venv: string): Promise<string> {
  let version = '';
  // Facts only: the plan pass (dry) reads them; nothing would change, so no execute pass.
  const outcome = await run(
    async ({ facts }) => {
      version = await facts.server.command(
        `${venv}/bin/python -c 'import infra_demo_app as m; print(m.VERSION)' 2>/dev/null || echo none`,
      );
    },
    [host],
    { dry: true },
  );
  expect([...outcome.failedHosts.values()]).toEqual([]);
  return version;
}

/** pip.venv and pip.packages (pinned, latest, requirements, removal) on one host, each twice. */
async function pipTwice(host: () => RunHost, root: string) {
  const venv = `${root}/venv`;
  const wheelhouse = `${root}/wheels`;
  const index = ['--no-index', '--find-links', wheelhouse];
  const put =
    (wheel: string): DeployFunction =>
    async ({ ops }) => {
      await ops.files.put({ src: wheel, dest: `${wheelhouse}/${basename(wheel)}` });
    };
  const install =
    (wheel: string, args: Record<string, unknown>): DeployFunction =>
    async (context) => {
      await put(wheel)(context, {});
      await context.ops.pip.venv({ path: venv });
      await context.ops.pip.packages({ virtualenv: venv, extraInstallArgs: index, ...args });
    };
  const pinned = install(wheels.v10, { packages: ['infra-demo-app==1.0'] });

  const dry = await run(pinned, [host()], { dry: true });
  expect(statuses(dry.planned)).toEqual([
    'files.put:changed',
    'pip.venv:changed',
    'pip.packages:changed',
  ]);
  // pip.packages makes sure of the virtualenv too (pyinfra's way): in the plan pass it is not there yet.
  expect(dry.planned[2]?.commands).toEqual([
    `python3 -m venv ${venv}`,
    `${venv}/bin/pip install --no-index --find-links ${wheelhouse} infra-demo-app==1.0`,
  ]);
  expect(await installedVersion(host(), venv)).toBe('none');

  const first = await run(pinned, [host()]);
  expect([...first.failedHosts.values()]).toEqual([]);
  expect(statuses(first.executed)).toEqual([
    'files.put:changed',
    'pip.venv:changed',
    'pip.packages:changed',
  ]);
  expect(await installedVersion(host(), venv)).toBe('1.0');
  expect((await run(pinned, [host()])).ending).toBe('nothing-to-do');

  // A newer wheel: unpinned, what is installed is enough; latest upgrades it, once.
  const unpinned = install(wheels.v11, { packages: 'infra-demo-app' });
  expect(statuses((await run(unpinned, [host()])).executed)).toEqual([
    'files.put:changed',
    'pip.venv:no-change',
    'pip.packages:no-change',
  ]);
  const latest = install(wheels.v11, { packages: 'infra-demo-app', latest: true });
  expect(statuses((await run(latest, [host()])).executed)).toEqual([
    'files.put:no-change',
    'pip.venv:no-change',
    'pip.packages:changed',
  ]);
  expect(await installedVersion(host(), venv)).toBe('1.1');
  expect((await run(latest, [host()])).ending).toBe('nothing-to-do');

  // A requirements file on the host, put there by the same deploy.
  const requirements: DeployFunction = async (context) => {
    await context.ops.files.put({
      src: Buffer.from('# pinned back\ninfra-demo-app==1.0\n'),
      dest: `${root}/requirements.txt`,
    });
    await context.ops.pip.packages({
      requirements: `${root}/requirements.txt`,
      virtualenv: venv,
      extraInstallArgs: index,
    });
  };
  const fromFile = await run(requirements, [host()]);
  expect([...fromFile.failedHosts.values()]).toEqual([]);
  expect(statuses(fromFile.executed)).toEqual(['files.put:changed', 'pip.packages:changed']);
  expect(await installedVersion(host(), venv)).toBe('1.0');
  expect((await run(requirements, [host()])).ending).toBe('nothing-to-do');

  const remove: DeployFunction = async ({ ops }) => {
    await ops.pip.packages({ packages: ['Infra_Demo.App'], present: false, virtualenv: venv });
  };
  expect(statuses((await run(remove, [host()])).executed)).toEqual(['pip.packages:changed']);
  expect(await installedVersion(host(), venv)).toBe('none');
  expect((await run(remove, [host()])).ending).toBe('nothing-to-do');

  const noVenv: DeployFunction = async ({ ops }) => {
    await ops.pip.venv({ path: venv, present: false });
  };
  expect(statuses((await run(noVenv, [host()])).executed)).toEqual(['pip.venv:changed']);
  expect((await run(noVenv, [host()])).ending).toBe('nothing-to-do');
}

/** npm.packages in a directory and globally (under a prefix of the test's), from the registry. */
async function npmTwice(host: () => RunHost, root: string, env: Record<string, string> = {}) {
  const directory = `${root}/app`;
  const fn =
    (packages: string, options: Record<string, unknown>): DeployFunction =>
    async ({ ops }) => {
      await ops.files.directory({ path: directory });
      await ops.npm.packages({ packages, directory, _env: env, ...options });
      await ops.npm.packages({
        packages,
        _env: { ...env, npm_config_prefix: `${root}/global` },
        ...options,
      });
    };
  const pinned = fn('is-number@6.0.0', {});
  const dry = await run(pinned, [host()], { dry: true });
  expect(statuses(dry.planned)).toEqual([
    'files.directory:changed',
    'npm.packages:changed',
    'npm.packages:changed',
  ]);
  expect(dry.planned.slice(1).map((r) => r.commands[0])).toEqual([
    `cd ${directory} && npm install is-number@6.0.0`,
    'npm install -g is-number@6.0.0',
  ]);
  const first = await run(pinned, [host()]);
  expect([...first.failedHosts.values()]).toEqual([]);
  expect(statuses(first.executed)).toEqual([
    'files.directory:changed',
    'npm.packages:changed',
    'npm.packages:changed',
  ]);
  const versions = async () => {
    const found: unknown[] = [];
    const outcome = await run(
      async ({ facts }) => {
        found.push((await facts.npm.packages({ directory }))['is-number']);
        found.push(await facts.server.command(`ls ${root}/global/lib/node_modules`));
      },
      [host()],
      { dry: true },
    );
    expect([...outcome.failedHosts.values()]).toEqual([]);
    return found;
  };
  expect(await versions()).toEqual([['6.0.0'], 'is-number']);
  expect((await run(pinned, [host()])).ending).toBe('nothing-to-do');

  const latest = fn('is-number', { latest: true });
  const upgraded = await run(latest, [host()]);
  expect(statuses(upgraded.executed)).toEqual([
    'files.directory:no-change',
    'npm.packages:changed',
    'npm.packages:changed',
  ]);
  expect(upgraded.executed[1]?.commands[0]).toMatch(/npm install is-number@\d+\.\d+\.\d+$/);
  expect((await run(latest, [host()])).ending).toBe('nothing-to-do');

  const remove = fn('is-number', { present: false });
  expect(statuses((await run(remove, [host()])).executed)).toEqual([
    'files.directory:no-change',
    'npm.packages:changed',
    'npm.packages:changed',
  ]);
  expect((await run(remove, [host()])).ending).toBe('nothing-to-do');
}

describe.skipIf(noPython !== undefined)('pip and npm on @local', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'infra-pip-local-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('pip.venv and pip.packages from a local wheelhouse, twice each', async () => {
    await pipTwice(() => localHost('local'), root);
  }, 120_000);

  it('npm.packages in a directory and globally, twice each', async () => {
    await npmTwice(() => localHost('local'), root);
  }, 180_000);
});

describe.skipIf((noPython ?? noSshd) !== undefined)('pip and npm on @ssh', () => {
  let sshd: SshdFixture;
  let root: string;
  beforeAll(async () => {
    sshd = await startSshd();
    // The ssh test user makes it; root only picks the name.
    root = `${await mkdtemp(join(tmpdir(), 'infra-pip-ssh-'))}-remote`;
  });
  afterAll(async () => {
    await sshd?.dispose();
    if (root) {
      await rm(root, { recursive: true, force: true });
      await rm(root.replace(/-remote$/, ''), { recursive: true, force: true });
    }
  });

  it('pip.venv and pip.packages as the ssh user, twice each', async () => {
    await pipTwice(() => sshHost(sshd, 'ssh1'), root);
  }, 120_000);

  it('npm.packages as the ssh user, twice each', async () => {
    // A registry behind a TLS-inspecting proxy: the ssh user's login has no CA setting of its
    // own, so it gets this machine's (the system bundle holds such a proxy's CA).
    const ca = process.env.NODE_EXTRA_CA_CERTS ?? systemCaBundle();
    await npmTwice(() => sshHost(sshd, 'ssh1'), root, ca ? { NODE_EXTRA_CA_CERTS: ca } : {});
  }, 180_000);
});

describe.skipIf((noPython ?? noDebian) !== undefined)('pip on the Debian image (@docker)', () => {
  let container: string;
  beforeAll(async () => {
    const image = await buildAppImage(dockerd!);
    container = await startContainer(dockerd!, {
      Image: image.tag,
      Cmd: ['sleep', '3600'],
      HostConfig: { NetworkMode: 'none' },
    });
  }, 300_000);
  afterAll(async () => {
    await removeContainer(dockerd!, container);
  });

  it('pip.venv (python3-venv) and pip.packages with no network at all, twice each', async () => {
    await pipTwice(() => dockerHost(dockerd!, container, {}, 'debian-pip'), '/srv/pip');
  }, 120_000);
});

/** Debian's CA bundle, where it exists. */
function systemCaBundle(): string | undefined {
  const bundle = '/etc/ssl/certs/ca-certificates.crt';
  return existsSync(bundle) ? bundle : undefined;
}
