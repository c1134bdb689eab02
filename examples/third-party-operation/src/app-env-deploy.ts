import { deploy } from '@infra/deploy';
import { envfileSetOperation } from './envfile-operation.js';

export interface AppEnvData extends Record<string, unknown> {
  /** Where the application lives; its `.env` goes there. */
  appDir: string;
}

/**
 * A reusable group (pyinfra's `@deploy`): the app's folder and its `.env`. Run it
 * from any deploy with `run(appEnv, { port: 8080, _sudo: true })`; `appDir`
 * comes from host data, `/srv/app` when none is set.
 */
export const appEnv = deploy<AppEnvData, { port: number }>(
  { name: 'app env', defaults: { appDir: '/srv/app' } },
  async ({ host, ops, run }, { port }) => {
    await ops.files.directory({ path: host.data.appDir, mode: '755' });
    await run(envfileSetOperation, {
      path: `${host.data.appDir}/.env`,
      values: { PORT: String(port), HOST_NAME: host.name },
    });
  },
);
