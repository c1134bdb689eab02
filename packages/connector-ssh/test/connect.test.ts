import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  peerMissing,
  type SshAgentFixture,
  type SshdFixture,
  sshdMissingReason,
  startSshAgent,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, sshConnector } from './ssh-host.js';
import { establishedSocketsTo, tcpNoDelay, tcpNoDelayMissingReason } from './tcp-socket.js';

const skip = peerMissing('sshd', sshdMissingReason());
const noDelaySkip = peerMissing('perl with pidfd_getfd', tcpNoDelayMissingReason());
const plainUser = TEST_USERS.plain.name;

describe.skipIf(skip !== undefined)(
  'ssh connect, auth, known_hosts, ssh_config, jump hosts',
  () => {
    let sshd: SshdFixture;
    let jump: SshdFixture;
    let agent: SshAgentFixture;
    /** known_hosts with both the target and the jump host. */
    let bothKnown: string;

    const whoami = async (data: Record<string, unknown>, user = plainUser) => {
      const { connector } = sshConnector(sshd, { user, data });
      try {
        return (await connector.runShellCommand('id -un')).output.stdout;
      } finally {
        await connector.disconnect();
      }
    };

    beforeAll(async () => {
      sshd = await startSshd();
      jump = await startSshd({ keysFrom: sshd });
      agent = await startSshAgent([sshd.agentKey.privateKeyPath]);
      bothKnown = await sshd.writeKnownHosts('known_hosts.both', [
        `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}`,
        `[127.0.0.1]:${jump.port} ${jump.hostPublicKey}`,
      ]);
    });

    afterAll(async () => {
      await agent?.stop();
      await jump?.dispose();
      await sshd?.dispose();
    });

    describe('authentication', () => {
      it('logs in with a key file, an encrypted key and its passphrase, a password', async () => {
        expect(await whoami({})).toBe(plainUser);
        expect(
          await whoami({
            ssh_key: sshd.encryptedKey.privateKeyPath,
            ssh_key_password: sshd.encryptedKey.passphrase,
          }),
        ).toBe(plainUser);
        expect(await whoami({ ssh_key: undefined, ssh_password: TEST_USERS.plain.password })).toBe(
          plainUser,
        );
      });

      it('logs in with ecdsa and rsa key files made by ssh-keygen', async () => {
        for (const [type, bits] of [
          ['ecdsa', '256'],
          ['rsa', '2048'],
        ] as const) {
          const key = join(sshd.dir, `id_test_${type}`);
          execFileSync('ssh-keygen', ['-q', '-t', type, '-b', bits, '-N', '', '-f', key]);
          await sshd.authorizeKey(readFileSync(`${key}.pub`, 'utf8'));
          expect(await whoami({ ssh_key: key })).toBe(plainUser);
          // sshd says which key it accepted: this one.
          const fingerprint = /SHA256:\S+/.exec(
            execFileSync('ssh-keygen', ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }),
          )![0];
          expect(readFileSync(sshd.logFile, 'utf8')).toMatch(
            new RegExp(
              `Accepted publickey for ${plainUser} .* ${type.toUpperCase()} ${fingerprint.replace(/[+/]/g, '\\$&')}`,
            ),
          );
        }
      });

      it.skipIf(noDelaySkip !== undefined)(
        'sets TCP_NODELAY on its socket (read back from the kernel)',
        async () => {
          const before = new Set(establishedSocketsTo(sshd.port).values());
          const { connector } = sshConnector(sshd, { user: plainUser });
          try {
            await connector.connect();
            const fresh = [...establishedSocketsTo(sshd.port)].filter(
              ([, inode]) => !before.has(inode),
            );
            expect(fresh).toHaveLength(1);
            expect(tcpNoDelay(fresh[0]![0])).toBe(1);
          } finally {
            await connector.disconnect();
          }
        },
      );

      it('logs in with the ssh-agent from SSH_AUTH_SOCK or ssh_config IdentityAgent', async () => {
        const saved = process.env.SSH_AUTH_SOCK;
        process.env.SSH_AUTH_SOCK = agent.socket;
        try {
          expect(await whoami({ ssh_key: undefined, ssh_allow_agent: true })).toBe(plainUser);
        } finally {
          if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
          else process.env.SSH_AUTH_SOCK = saved;
        }
        const config = join(sshd.dir, 'config.agent');
        writeFileSync(config, `Host *\n  IdentityAgent ${agent.socket}\n`);
        expect(
          await whoami({ ssh_key: undefined, ssh_allow_agent: true, ssh_config_file: config }),
        ).toBe(plainUser);
      });

      it('fails an encrypted key without its passphrase naming ssh_key_password', async () => {
        const { connector } = sshConnector(sshd, {
          user: plainUser,
          data: { ssh_key: sshd.encryptedKey.privateKeyPath },
        });
        const error = await errorOf(connector.connect());
        expect(error.code).toBe('CONNECT_FAILED');
        expect(error.message).toContain('ssh_key_password');
        const wrong = sshConnector(sshd, {
          user: plainUser,
          data: { ssh_key: sshd.encryptedKey.privateKeyPath, ssh_key_password: 'wrong' },
        }).connector;
        expect((await errorOf(wrong.connect())).message).toContain('ssh_key_password');
      });

      it('says which methods it tried when the login fails, without the password', async () => {
        const { connector } = sshConnector(sshd, {
          user: plainUser,
          // The host's own key: a valid key that is not authorized.
          data: { ssh_key: join(sshd.dir, 'host_ed25519'), ssh_password: 'not-the-password' },
        });
        const error = await errorOf(connector.connect());
        expect(error.code).toBe('CONNECT_FAILED');
        expect(error.message).toMatch(
          /tried publickey \S+host_ed25519, password, keyboard-interactive/,
        );
        expect(error.message).toMatch(/server accepts .*publickey/);
        expect(error.message).not.toContain('not-the-password');
      });

      it('answers keyboard-interactive with the password when password auth is off', async () => {
        const kbd = await startSshd({ keysFrom: sshd, extraConfig: ['PasswordAuthentication no'] });
        try {
          const { connector } = sshConnector(kbd, {
            user: plainUser,
            data: { ssh_key: undefined, ssh_password: TEST_USERS.plain.password },
          });
          expect((await connector.runShellCommand('id -un')).output.stdout).toBe(plainUser);
          await connector.disconnect();
        } finally {
          await kbd.dispose();
        }
      });
    });

    describe('known_hosts', () => {
      const hostName = () => `[127.0.0.1]:${sshd.port}`;

      it('accept-new adds a new host once, never duplicating or rewriting lines', async () => {
        const file = await sshd.writeKnownHosts('known_hosts.new', [
          '# my hosts',
          'other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOp1',
        ]);
        const before = readFileSync(file, 'utf8');
        const data = { ssh_known_hosts_file: file, ssh_strict_host_key_checking: 'accept-new' };
        const connectors = [0, 1, 2].map(
          () => sshConnector(sshd, { user: plainUser, data }).connector,
        );
        await Promise.all(connectors.map((c) => c.connect()));
        await Promise.all(connectors.map((c) => c.disconnect()));
        expect(await whoami(data)).toBe(plainUser);
        const after = readFileSync(file, 'utf8');
        expect(after.startsWith(before)).toBe(true);
        expect(after.slice(before.length)).toBe(`${hostName()} ${sshd.hostPublicKey}\n`);
      });

      it('refuses a changed key, showing both fingerprints and the line to fix', async () => {
        const file = await sshd.writeKnownHosts('known_hosts.changed', [
          `${hostName()} ${jump.hostPublicKey}`,
        ]);
        const { connector } = sshConnector(sshd, {
          user: plainUser,
          data: { ssh_known_hosts_file: file, ssh_strict_host_key_checking: 'accept-new' },
        });
        const error = await errorOf(connector.connect());
        expect(error.code).toBe('CONNECT_FAILED');
        expect(error.message).toContain('CHANGED');
        expect(error.message).toContain(sshd.hostFingerprint);
        expect(error.message).toContain(jump.hostFingerprint);
        expect(error.message).toContain(`line 1 of ${file}`);
        expect((error.cause as { code?: string }).code).toBe('HOST_KEY_CHANGED');
      });

      it('refuses a @revoked key', async () => {
        const file = await sshd.writeKnownHosts('known_hosts.revoked', [
          `@revoked * ${sshd.hostPublicKey}`,
          `${hostName()} ${sshd.hostPublicKey}`,
        ]);
        const error = await errorOf(
          sshConnector(sshd, {
            user: plainUser,
            data: { ssh_known_hosts_file: file },
          }).connector.connect(),
        );
        expect(error.message).toContain('@revoked');
        expect(error.message).toContain(`${file}:1`);
      });

      it('accepts hashed and wildcard entries; refuses unknown hosts under "yes"', async () => {
        const hashed = await sshd.writeKnownHosts('known_hosts.hashed', [
          `${hostName()} ${sshd.hostPublicKey}`,
        ]);
        execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
        expect(readFileSync(hashed, 'utf8')).toMatch(/^\|1\|/);
        expect(await whoami({ ssh_known_hosts_file: hashed })).toBe(plainUser);

        const wildcard = await sshd.writeKnownHosts('known_hosts.wildcard', [
          `[127.0.0.?]:${sshd.port},!bad.example ${sshd.hostPublicKey}`,
        ]);
        expect(await whoami({ ssh_known_hosts_file: wildcard })).toBe(plainUser);

        const negated = await sshd.writeKnownHosts('known_hosts.negated', [
          `*,!${hostName()} ${sshd.hostPublicKey}`,
        ]);
        const error = await errorOf(
          sshConnector(sshd, {
            user: plainUser,
            data: { ssh_known_hosts_file: negated },
          }).connector.connect(),
        );
        expect(error.message).toContain('not in known_hosts');
        expect(error.message).toContain(sshd.hostFingerprint);
      });
    });

    describe('ssh_config', () => {
      it('reads HostName, Port, User, IdentityFile, known_hosts settings, Include and Match user', async () => {
        const dir = sshd.dir;
        writeFileSync(join(dir, 'included.conf'), `Host infra-alias\n  User ${plainUser}\n`);
        const config = join(dir, 'config.alias');
        writeFileSync(
          config,
          [
            `Include ${join(dir, 'included.conf')}`,
            'Host infra-alias',
            '  HostName 127.0.0.1',
            `  Port ${sshd.port}`,
            `  UserKnownHostsFile ${sshd.knownHostsFile}`,
            '  StrictHostKeyChecking yes',
            `Match host 127.0.0.1 user ${TEST_USERS.sudo.name}`,
            `  IdentityFile ${join(dir, 'no-such-key')}`,
            `  IdentityFile ${sshd.clientKey.privateKeyPath}`,
            'Host wrong-port',
            '  HostName 127.0.0.1',
            '  Port 1',
            `  IdentityFile ${sshd.clientKey.privateKeyPath}`,
            `  UserKnownHostsFile ${sshd.knownHostsFile}`,
          ].join('\n'),
        );
        const base = {
          ssh_config_file: config,
          ssh_hostname: 'infra-alias',
          ssh_port: undefined,
          ssh_user: undefined,
          ssh_key: undefined,
          ssh_known_hosts_file: undefined,
          ssh_strict_host_key_checking: undefined,
        };
        // Match user selects the key block for infra-sudo (inventory user wins over the Include's User).
        const { connector } = sshConnector(sshd, {
          user: 'ignored',
          data: { ...base, ssh_user: TEST_USERS.sudo.name },
        });
        expect((await connector.runShellCommand('id -un')).output.stdout).toBe(
          TEST_USERS.sudo.name,
        );
        await connector.disconnect();

        // Without it, the Include's User applies and no key block matches: the login fails saying so.
        const noKey = sshConnector(sshd, { user: 'ignored', data: base }).connector;
        const error = await errorOf(noKey.connect());
        expect(error.message).toContain(`login as ${plainUser}@127.0.0.1:${sshd.port} failed`);

        // Inventory data overrides the config file's Port.
        const override = sshConnector(sshd, {
          user: plainUser,
          data: { ...base, ssh_hostname: 'wrong-port', ssh_user: plainUser, ssh_port: sshd.port },
        }).connector;
        expect((await override.runShellCommand('id -un')).output.stdout).toBe(plainUser);
        await override.disconnect();
      });
    });

    describe('jump hosts', () => {
      const acceptedOn = (fixture: SshdFixture) =>
        readFileSync(fixture.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('Accepted publickey')).length;

      /** `Accepted publickey for USER` lines in a fixture's log. */
      const acceptedFor = (fixture: SshdFixture, user: string) =>
        readFileSync(fixture.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(`Accepted publickey for ${user} `)).length;

      /** A Host block that logs in to `fixture` as `user` with `key`. */
      const hostBlock = (
        alias: string,
        fixture: SshdFixture,
        user: string,
        key: string,
        extra: string[] = [],
      ) => [
        `Host ${alias}`,
        '  HostName 127.0.0.1',
        `  Port ${fixture.port}`,
        `  User ${user}`,
        `  IdentityFile ${key}`,
        ...extra,
      ];

      it('goes through one or several ProxyJump hops (forwardOut), each with its own Host block', async () => {
        const config = join(sshd.dir, 'config.hops');
        writeFileSync(
          config,
          hostBlock('127.0.0.1', jump, plainUser, sshd.clientKey.privateKeyPath).join('\n'),
        );
        const data = { ssh_config_file: config, ssh_known_hosts_file: bothKnown };
        const before = acceptedOn(jump);
        const hop = `${plainUser}@127.0.0.1:${jump.port}`;
        expect(await whoami({ ...data, ssh_proxy_jump: hop })).toBe(plainUser);
        expect(acceptedOn(jump)).toBe(before + 1);
        expect(await whoami({ ...data, ssh_proxy_jump: `${hop},${hop}` })).toBe(plainUser);
        expect(acceptedOn(jump)).toBe(before + 3);
      });

      describe('with a bastion whose keys and users differ from the target', () => {
        /** An sshd with keys of its own: the target's key is not authorized there, nor its key here. */
        let bastion: SshdFixture;
        let known: string;
        const sudoUser = TEST_USERS.sudo.name;
        const sudoPwUser = TEST_USERS.sudoPassword.name;

        beforeAll(async () => {
          bastion = await startSshd();
          known = await sshd.writeKnownHosts('known_hosts.bastion', [
            `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}`,
            `[127.0.0.1]:${bastion.port} ${bastion.hostPublicKey}`,
          ]);
        });

        afterAll(async () => {
          await bastion?.dispose();
        });

        it('logs in to each hop with its own User, Port, HostName and IdentityFile, chaining its ProxyJump', async () => {
          const config = join(sshd.dir, 'config.bastion');
          writeFileSync(
            config,
            [
              ...hostBlock('bastion', bastion, sudoUser, bastion.clientKey.privateKeyPath),
              // `inner` is the same sshd reached through itself, as another user.
              ...hostBlock('inner', bastion, sudoPwUser, bastion.clientKey.privateKeyPath, [
                '  ProxyJump bastion',
              ]),
              'Host target',
              '  HostName 127.0.0.1',
              '  ProxyJump inner',
            ].join('\n'),
          );
          const before = {
            sudo: acceptedFor(bastion, sudoUser),
            sudoPw: acceptedFor(bastion, sudoPwUser),
            target: acceptedFor(sshd, plainUser),
          };
          // The target logs in with its ssh_key from the inventory; no hop gets it.
          expect(
            await whoami({
              ssh_hostname: 'target',
              ssh_config_file: config,
              ssh_known_hosts_file: known,
            }),
          ).toBe(plainUser);
          expect(acceptedFor(bastion, sudoUser)).toBe(before.sudo + 1);
          expect(acceptedFor(bastion, sudoPwUser)).toBe(before.sudoPw + 1);
          expect(acceptedFor(sshd, plainUser)).toBe(before.target + 1);
          const bastionKey = /SHA256:\S+/.exec(
            execFileSync('ssh-keygen', ['-l', '-f', `${bastion.clientKey.privateKeyPath}.pub`], {
              encoding: 'utf8',
            }),
          )![0];
          expect(readFileSync(bastion.logFile, 'utf8')).toContain(
            `Accepted publickey for ${sudoPwUser} from 127.0.0.1`,
          );
          expect(readFileSync(bastion.logFile, 'utf8')).toContain(bastionKey);
        });

        it("reaches the first hop through that hop's own ProxyCommand", async () => {
          const config = join(sshd.dir, 'config.hop-proxycommand');
          const everyone = await sshd.writeKnownHosts('known_hosts.everyone', [
            `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}`,
            `[127.0.0.1]:${bastion.port} ${bastion.hostPublicKey}`,
            `[127.0.0.1]:${jump.port} ${jump.hostPublicKey}`,
          ]);
          writeFileSync(
            config,
            hostBlock('bastion', bastion, sudoUser, bastion.clientKey.privateKeyPath, [
              `  ProxyCommand ssh -q -W %h:%p -p ${jump.port} -i ${sshd.clientKey.privateKeyPath} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${everyone} ${plainUser}@127.0.0.1`,
            ]).join('\n'),
          );
          const before = { jump: acceptedOn(jump), bastion: acceptedFor(bastion, sudoUser) };
          expect(
            await whoami({
              ssh_config_file: config,
              ssh_known_hosts_file: everyone,
              ssh_proxy_jump: 'bastion',
            }),
          ).toBe(plainUser);
          expect(acceptedOn(jump)).toBe(before.jump + 1);
          expect(acceptedFor(bastion, sudoUser)).toBe(before.bastion + 1);
        });

        it("takes user and port from a user@host:port hop over the hop's Host block", async () => {
          const config = join(sshd.dir, 'config.hopspec');
          writeFileSync(
            config,
            [
              'Host bastion',
              '  HostName 127.0.0.1',
              '  Port 1',
              '  User nobody',
              `  IdentityFile ${bastion.clientKey.privateKeyPath}`,
            ].join('\n'),
          );
          const before = acceptedFor(bastion, sudoPwUser);
          expect(
            await whoami({
              ssh_config_file: config,
              ssh_known_hosts_file: known,
              ssh_proxy_jump: `${sudoPwUser}@bastion:${bastion.port}`,
            }),
          ).toBe(plainUser);
          expect(acceptedFor(bastion, sudoPwUser)).toBe(before + 1);
        });

        it("never offers the target's key or password to a jump host", async () => {
          writeFileSync(join(sshd.dir, 'config.empty'), '');
          const error = await errorOf(
            whoami({
              ssh_known_hosts_file: known,
              ssh_password: TEST_USERS.sudo.password,
              ssh_proxy_jump: `${sudoUser}@127.0.0.1:${bastion.port}`,
              ssh_config_file: join(sshd.dir, 'config.empty'),
            }),
          );
          expect(error.message).toContain(`login as ${sudoUser}@127.0.0.1:${bastion.port} failed`);
          expect(error.message).not.toContain(sshd.clientKey.privateKeyPath);
          expect(error.message).not.toMatch(/tried (.*, )?password/);
        });

        it('refuses a ProxyJump chain that loops', async () => {
          const config = join(sshd.dir, 'config.loop');
          writeFileSync(config, ['Host a', '  ProxyJump b', 'Host b', '  ProxyJump a'].join('\n'));
          const error = await errorOf(whoami({ ssh_config_file: config, ssh_hostname: 'a' }));
          expect(error.message).toMatch(/ProxyJump chain a <- b <- a .* longer than 16 hops/);
        });
      });

      it('reads ProxyJump from ssh_config, where "none" turns it off', async () => {
        const config = join(sshd.dir, 'config.jump');
        writeFileSync(
          config,
          [
            'Host direct',
            '  HostName 127.0.0.1',
            '  ProxyJump none',
            ...hostBlock('jump', jump, plainUser, sshd.clientKey.privateKeyPath),
            'Host * !jump',
            '  HostName 127.0.0.1',
            '  ProxyJump jump',
          ].join('\n'),
        );
        const before = acceptedOn(jump);
        const data = { ssh_config_file: config, ssh_known_hosts_file: bothKnown };
        expect(await whoami({ ...data, ssh_hostname: 'via-jump' })).toBe(plainUser);
        expect(acceptedOn(jump)).toBe(before + 1);
        expect(await whoami({ ...data, ssh_hostname: 'direct' })).toBe(plainUser);
        expect(acceptedOn(jump)).toBe(before + 1);
      });

      it('connects through a ProxyCommand process', async () => {
        const config = join(sshd.dir, 'config.proxycommand');
        writeFileSync(
          config,
          [
            'Host *',
            `  ProxyCommand ssh -q -W %h:%p -p ${jump.port} -i ${sshd.clientKey.privateKeyPath} -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${bothKnown} ${plainUser}@127.0.0.1`,
          ].join('\n'),
        );
        const before = acceptedOn(jump);
        expect(await whoami({ ssh_config_file: config })).toBe(plainUser);
        expect(acceptedOn(jump)).toBe(before + 1);
      });
    });
  },
);
