// A deploy that runs as written on this machine: `npm run -s infra -- @local examples/local-deploy/deploy.ts -y`.
// The first run creates /tmp/infra-example; the second finds nothing to do.
import { deploy } from '@infra/deploy';

interface Data {
  app_port: number;
}

export default deploy<Data>({ defaults: { app_port: 8080 } }, async ({ ops, facts }) => {
  await ops.files.directory({ path: '/tmp/infra-example', mode: '755' });
  const config = await ops.files.template({
    template: 'port=<%= it.data.app_port %>\nhost=<%= it.host.name %>\n',
    dest: '/tmp/infra-example/app.conf',
    mode: '644',
  });
  await ops.files.line({ path: '/tmp/infra-example/hosts.allow', line: 'ALL: 127.0.0.1' });
  if (config.changed) {
    await ops.server.shell({
      name: 'Note the new config',
      commands: 'date > /tmp/infra-example/reloaded',
    });
  }
  await ops.files.link({
    path: '/tmp/infra-example/current',
    target: '/tmp/infra-example/app.conf',
  });
  // Facts are read from the host; a deploy can branch on them.
  const os = await facts.server.os();
  if (os === 'Linux') await ops.files.file({ path: '/tmp/infra-example/on-linux', present: true });
});
