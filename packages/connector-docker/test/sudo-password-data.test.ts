import { TEST_USERS, useDockerd } from '@infra/connector-testkit';
import { describe, expect, it } from 'vitest';
import { dockerConnector } from './docker-test-host.js';

const { dockerd, skip } = await useDockerd();

describe.skipIf(skip !== undefined || dockerd?.images.busyboxSudo === undefined)(
  'sudo_password from host data',
  () => {
    it('tries sudo without a password first: a sudo that needs none keeps its terminal', async () => {
      // Had the password been sent anyway, it would go on stdin, and stdin would be no terminal.
      const { connector } = dockerConnector(dockerd!, {
        docker_identifier: dockerd!.images.busyboxSudo,
        docker_commit: false,
        docker_user: TEST_USERS.sudo.name,
        sudo_password: 'not-needed-by-this-user',
      });
      await connector.connect();
      try {
        const result = await connector.runShellCommand('test -t 0 && echo "terminal as $(id -u)"', {
          sudo: true,
          getPty: true,
        });
        expect(result.output.stdoutLines).toEqual(['terminal as 0']);
      } finally {
        await connector.disconnect();
      }
    });

    it('answers sudo with it when sudo asks, for commands and files', async () => {
      const { connector } = dockerConnector(dockerd!, {
        docker_identifier: dockerd!.images.busyboxSudo,
        docker_commit: false,
        docker_user: TEST_USERS.sudoPassword.name,
        sudo_password: TEST_USERS.sudoPassword.password,
      });
      await connector.connect();
      try {
        const who = await connector.runShellCommand('id -u', { sudo: true });
        expect(who.output.stdout).toBe('0');
        await connector.putFile(Buffer.from('as root\n'), '/root-owned.txt', { sudo: true });
        const owner = await connector.runShellCommand('stat -c %u /root-owned.txt');
        expect(owner.output.stdout).toBe('0');
        const chunks: Buffer[] = [];
        const { Writable } = await import('node:stream');
        await connector.getFile(
          '/root-owned.txt',
          new Writable({
            write(chunk, _encoding, done) {
              chunks.push(chunk);
              done();
            },
          }),
          { sudo: true },
        );
        expect(Buffer.concat(chunks).toString()).toBe('as root\n');
      } finally {
        await connector.disconnect();
      }
    });
  },
);
