// A small web app on a Debian host with systemd, the way you would deploy it for real:
// its site from git at a release tag, static files synced from here, a config rendered
// from a template, the server (a Python package) in a venv from a wheel your CI built,
// a systemd unit, a restart only when something the service uses changed, and the CI's
// deploy key authorized for the app user. A second run reports no change.
//
//   pnpm infra @ssh:root@web1 examples/webapp-deploy/deploy.ts \
//     --data app_repo=https://git.example.com/webapp-site.git \
//     --data app_wheel=dist/webapp_server-1.0-py3-none-any.whl \
//     --data deploy_key="$(cat ci_deploy_key.pub)" -y
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deploy } from '@infra/deploy';

interface Data {
  /** The site's git repository (any URL git clones: https, ssh, file://). */
  app_repo: string;
  /** The release tag (or commit) to check out. */
  app_version: string;
  /** A wheel of the server package on this machine, e.g. from `pip wheel . -w dist`. */
  app_wheel: string;
  /** The public key CI deploys with, authorized for the app user. */
  deploy_key: string;
  app_port: number;
}

/** A file next to this deploy file, wherever it is run from. */
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const HOME = '/srv/webapp';

export default deploy<Data>(
  { name: 'webapp', defaults: { app_version: 'v1', app_port: 8000 } },
  async ({ ops, host }) => {
    const { data } = host;
    // Already there on the image: nothing to download, no change.
    await ops.server.packages({ packages: ['git', 'python3-venv'] });
    await ops.server.group({ group: 'webapp', system: true });
    await ops.server.user({ user: 'webapp', group: 'webapp', home: HOME, system: true });
    await ops.server.userAuthorizedKeys({ user: 'webapp', publicKeys: [data.deploy_key] });

    const site = await ops.git.repo({
      src: data.app_repo,
      dest: `${HOME}/site`,
      commit: data.app_version,
      user: 'webapp',
      group: 'webapp',
    });
    const assets = await ops.files.sync({
      src: here('static'),
      dest: `${HOME}/static`,
      delete: true,
      user: 'webapp',
      group: 'webapp',
    });
    const config = await ops.files.template({
      src: here('templates/webapp.conf.eta'),
      dest: '/etc/webapp.conf',
      mode: '640',
      group: 'webapp',
    });

    const wheels = `${HOME}/wheels`;
    await ops.files.put({ src: data.app_wheel, dest: `${wheels}/${basename(data.app_wheel)}` });
    await ops.pip.venv({ path: `${HOME}/venv` });
    const server = await ops.pip.packages({
      packages: ['webapp-server'],
      virtualenv: `${HOME}/venv`,
      latest: true,
      extraInstallArgs: ['--no-index', '--find-links', wheels],
    });

    const unit = await ops.files.template({
      src: here('templates/webapp.service.eta'),
      dest: '/etc/systemd/system/webapp.service',
    });
    await ops.systemd.service({
      service: 'webapp',
      running: true,
      enabled: true,
      daemonReload: unit.changed,
      // Only when something the service reads changed (in the plan pass: would change).
      restarted: [site, assets, config, server, unit].some((result) => result.changed),
    });
    await ops.server.wait({ port: data.app_port, interval: 0.2, timeout: 30 });
  },
);
