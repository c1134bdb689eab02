import { describeConnector, TEST_USERS, useDockerd } from '@infra/connector-testkit';
import { dockerConnector } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();
// sudo comes from this machine's sudo copied into the image; without it, su only.
const image = dockerd?.images.busyboxSudo ?? dockerd?.images.busybox;

describeConnector({
  name: 'docker (dockerd 20.10, busybox image)',
  skip,
  connect: async () => {
    const { connector } = dockerConnector(dockerd!, {
      docker_identifier: image,
      docker_commit: false,
    });
    await connector.connect();
    return connector;
  },
  connectAsSudoPasswordUser: dockerd?.images.busyboxSudo
    ? async () => {
        const { connector } = dockerConnector(dockerd!, {
          docker_identifier: image,
          docker_commit: false,
          docker_user: TEST_USERS.sudoPassword.name,
        });
        await connector.connect();
        return connector;
      }
    : undefined,
  connectWithSudoPasswordInHostData: dockerd?.images.busyboxSudo
    ? async () => {
        const { connector } = dockerConnector(dockerd!, {
          docker_identifier: image,
          docker_commit: false,
          docker_user: TEST_USERS.sudoPassword.name,
          sudo_password: TEST_USERS.sudoPassword.password,
        });
        await connector.connect();
        return connector;
      }
    : undefined,
  capabilities: {
    become: dockerd?.images.busyboxSudo ? ['sudo', 'su'] : ['su'],
    becomeUser: TEST_USERS.plain.name,
    pty: true,
  },
  connectFailure: {
    connect: () =>
      dockerConnector(dockerd!, {
        docker_identifier: image,
        docker_host: 'unix:///tmp/infra-no-such-dockerd.sock',
      }).connector.connect(),
    message: /unix:\/\/\/tmp\/infra-no-such-dockerd\.sock.*not reachable/,
  },
});
