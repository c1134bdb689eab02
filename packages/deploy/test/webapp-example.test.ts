import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { debianImageMissingReason, useDockerd } from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployContext, type LoadedDeploy, loadDeployFiles, runHosts } from '../src/index.js';
import { buildAppImage, startSystemdContainer } from './app-image.js';
import { containerExec, dockerHost, removeContainer, statuses } from './hosts.js';
import { pythonMissingReason, writeWheel } from './wheelhouse.js';

const { dockerd, skip: noDockerd } = await useDockerd();
const skip = noDockerd ?? debianImageMissingReason() ?? pythonMissingReason();

const EXAMPLE = fileURLToPath(new URL('../../../examples/webapp-deploy/', import.meta.url));

/** The server package the example installs: serves the site and /static/ from its config. */
const SERVER_SOURCE = `import configparser, http.server, os, sys


def main():
    config = configparser.ConfigParser()
    config.read(sys.argv[1])
    server = config['server']

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path):
            path = path.split('?')[0]
            if path.startswith('/static/'):
                return os.path.join(server['static'], path[len('/static/'):])
            return os.path.join(server['root'], path.lstrip('/') or 'index.html')

    http.server.ThreadingHTTPServer(('127.0.0.1', int(server['port'])), Handler).serve_forever()


if __name__ == '__main__':
    main()
`;

/** The site's repository, inside the container (it has no network): tags v1 and v2. */
const MAKE_SITE_REPO = [
  'set -e',
  'git init -q --bare -b main /srv/repos/site.git',
  'git clone -q /srv/repos/site.git /tmp/site-work 2>/dev/null',
  'cd /tmp/site-work',
  'g() { git -c user.name=ci -c user.email=ci@example.invalid "$@"; }',
  'echo "<h1>site v1</h1>" > index.html && git add . && g commit -q -m v1 && git tag v1',
  'echo "<h1>site v2</h1>" > index.html && g commit -q -am v2 && git tag v2',
  'git push -q origin HEAD:main --tags',
  'echo ready',
].join('\n');

/** What the served site answers on `path` (python inside the container, no curl there). */
function fetchInContainer(container: string, path: string): Promise<string> {
  return containerExec(
    dockerd!,
    container,
    `python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000${path}').read().decode().strip())"`,
  );
}

describe.skipIf(skip !== undefined)(
  'the webapp example deploy (README) on Debian with systemd',
  () => {
    let container: string;
    let dir: string;
    let example: LoadedDeploy;
    let data: Record<string, unknown>;

    beforeAll(async () => {
      const image = await buildAppImage(dockerd!);
      container = await startSystemdContainer(dockerd!, image.tag);
      const made = await containerExec(dockerd!, container, MAKE_SITE_REPO);
      if (!made.endsWith('ready')) throw new Error(`site repository setup failed: ${made}`);
      dir = await mkdtemp(join(tmpdir(), 'infra-webapp-'));
      execFileSync('ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        '',
        '-C',
        'ci@example',
        '-f',
        join(dir, 'ci'),
      ]);
      data = {
        app_repo: 'file:///srv/repos/site.git',
        app_wheel: writeWheel(dir, 'webapp-server', '1.0', SERVER_SOURCE),
        deploy_key: (await readFile(join(dir, 'ci.pub'), 'utf8')).trim(),
      };
      const [loaded] = await loadDeployFiles([join(EXAMPLE, 'deploy.ts')]);
      if (!loaded) throw new Error('the example deploy file did not load');
      example = loaded;
    }, 300_000);
    afterAll(async () => {
      await removeContainer(dockerd!, container);
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** The deploy file as the CLI runs it: its defaults under the host's data. */
    const runExample = (extra: Record<string, unknown> = {}, options: { dry?: boolean } = {}) =>
      runHosts({
        hosts: [dockerHost(dockerd!, container, { ...data, ...extra }, 'web1')],
        task: async (session) => {
          await example.deploy.run(deployContext(session), {});
        },
        defaults: example.deploy.defaults,
        ...options,
      });

    const OPERATIONS = [
      'server.packages',
      'server.group',
      'server.user',
      'server.userAuthorizedKeys',
      'git.repo',
      'files.sync',
      'files.template',
      'files.put',
      'pip.venv',
      'pip.packages',
      'files.template',
      'systemd.service',
      'server.wait',
    ];
    const mainPid = () =>
      containerExec(dockerd!, container, 'systemctl show -p MainPID --value webapp');

    it('runs as written: --dry changes nothing, the first run deploys, the second has nothing to do', async () => {
      const dry = await runExample({}, { dry: true });
      expect([...dry.failedHosts.values()]).toEqual([]);
      expect(statuses(dry.planned)).toEqual([
        'server.packages:no-change',
        ...OPERATIONS.slice(1).map((op) => `${op}:changed`),
      ]);
      expect(await containerExec(dockerd!, container, 'ls /srv/webapp 2>&1 || true')).toMatch(
        /No such file or directory/,
      );

      const first = await runExample();
      expect([...first.failedHosts.values()]).toEqual([]);
      // server.wait is a change when it had to wait for the server to bind, else not.
      expect(statuses(first.executed).slice(0, -1)).toEqual([
        'server.packages:no-change',
        ...OPERATIONS.slice(1, -1).map((op) => `${op}:changed`),
      ]);
      expect(first.executed.at(-1)).toMatchObject({ operation: 'server.wait', success: true });
      // Started, not restarted right after: one start, enabled at boot.
      expect(first.executed.find((r) => r.operation === 'systemd.service')?.commands).toEqual([
        'systemctl daemon-reload',
        'systemctl start webapp.service',
        'systemctl enable webapp.service',
      ]);
      expect(await fetchInContainer(container, '/')).toBe('<h1>site v1</h1>');
      expect(await fetchInContainer(container, '/static/site.css')).toBe(
        (await readFile(join(EXAMPLE, 'static/site.css'), 'utf8')).trim(),
      );
      expect(
        await containerExec(
          dockerd!,
          container,
          'stat -c "%U %a" /srv/webapp/.ssh /srv/webapp/.ssh/authorized_keys; cat /srv/webapp/.ssh/authorized_keys; systemctl is-enabled webapp',
        ),
      ).toBe(`webapp 700\nwebapp 600\n${data.deploy_key}\nenabled`);

      const pid = await mainPid();
      const second = await runExample();
      expect([...second.failedHosts.values()]).toEqual([]);
      expect(second.ending).toBe('nothing-to-do');
      expect(statuses(second.planned)).toEqual(OPERATIONS.map((op) => `${op}:no-change`));
      expect(await mainPid()).toBe(pid);
    }, 240_000);

    it('a new tag changes the site, config and unit: the service restarts once, then nothing to do', async () => {
      const before = await mainPid();
      const release = await runExample({ app_version: 'v2' });
      expect([...release.failedHosts.values()]).toEqual([]);
      // server.wait: a change or not, as above.
      const changed = release.executed
        .filter((r) => r.changed && r.operation !== 'server.wait')
        .map((r) => r.operation);
      expect(changed).toEqual(['git.repo', 'files.template', 'files.template', 'systemd.service']);
      expect(release.executed.find((r) => r.operation === 'systemd.service')?.commands).toEqual([
        'systemctl daemon-reload',
        'systemctl restart webapp.service',
      ]);
      expect(await mainPid()).not.toBe(before);
      expect(await fetchInContainer(container, '/')).toBe('<h1>site v2</h1>');
      expect((await runExample({ app_version: 'v2' })).ending).toBe('nothing-to-do');
    }, 240_000);
  },
);
