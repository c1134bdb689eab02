// examples/inventory-deploy/deploy.ts: each host writes what its data says.
import { deploy } from '@infra/deploy';

interface Data {
  app_port: number;
  role: string;
}

export default deploy<Data>(async ({ host, ops }) => {
  // host.name, host.groups, and host.data: all < groups < the host's own < --data.
  await ops.files.directory({ path: '/tmp/infra-inventory-example' });
  await ops.files.put({
    src: Buffer.from(`role=${host.data.role}\nport=${host.data.app_port}\n`),
    dest: `/tmp/infra-inventory-example/${host.name}.conf`,
  });
});
