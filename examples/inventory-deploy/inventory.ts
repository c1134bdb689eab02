// examples/inventory-deploy/inventory.ts: two hosts on this machine, with data.
import { inventory } from '@infra/deploy';

export default inventory({
  all: { app_port: 8080 }, // every host
  groups: {
    web: {
      hosts: [
        { name: 'web1', connection: '@local' }, // a name of its own, reached through @local
        { name: 'web2', connection: '@local', data: { app_port: 9090 } }, // its own data wins
      ],
      data: { role: 'web' }, // every host of the group
    },
  },
});
