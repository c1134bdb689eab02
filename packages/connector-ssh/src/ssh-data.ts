import type { ConnectorData, DataMetaMap } from '@infra/core';

/** The ssh connector's host data keys (pyinfra's names), with their defaults. */
export const SSH_DATA_META = {
  ssh_hostname: {
    description: 'Host name or address to connect to (an ssh_config Host alias works too)',
    type: 'string',
  },
  ssh_port: {
    description: 'TCP port of sshd (ssh_config Port, else 22)',
    type: 'integer',
    minimum: 1,
    maximum: 65535,
  },
  ssh_user: {
    description: 'User to log in as (ssh_config User, else the local user)',
    type: 'string',
  },
  ssh_password: { description: 'Login password', type: 'string', secret: true },
  ssh_key: { description: 'Private key file to log in with', type: 'string' },
  ssh_key_password: {
    description: 'Passphrase of an encrypted private key',
    type: 'string',
    secret: true,
  },
  ssh_allow_agent: {
    description: 'Use the ssh-agent at SSH_AUTH_SOCK (or ssh_config IdentityAgent)',
    type: 'boolean',
    default: true,
  },
  ssh_forward_agent: {
    description: 'Forward the ssh-agent to the host',
    type: 'boolean',
    default: false,
  },
  ssh_config_file: {
    description:
      'ssh_config file to read (default $INFRA_SSH_CONFIG_FILE, else ~/.ssh/config when it exists)',
    type: 'string',
  },
  ssh_known_hosts_file: {
    description: 'known_hosts file (ssh_config UserKnownHostsFile, else ~/.ssh/known_hosts)',
    type: 'string',
  },
  ssh_strict_host_key_checking: {
    description:
      'yes: refuse unknown hosts; accept-new: add unknown hosts, refuse changed keys; no: accept any key',
    type: 'string',
    values: ['yes', 'accept-new', 'no'],
  },
  ssh_connect_timeout: {
    description: 'Seconds to wait for the TCP connection and SSH handshake',
    type: 'number',
    default: 10,
  },
  ssh_connect_retries: {
    description: 'Extra connection attempts after a failed one (refused, reset, timed out)',
    type: 'integer',
    default: 0,
  },
  ssh_connect_retry_min_delay: {
    description: 'Seconds before the first retry (doubled each retry)',
    type: 'number',
    default: 0.1,
  },
  ssh_connect_retry_max_delay: {
    description: 'Longest delay between retries, in seconds',
    type: 'number',
    default: 0.5,
  },
  ssh_keepalive_interval: {
    description: 'Seconds between SSH keepalives (0 disables them)',
    type: 'number',
    default: 0,
  },
  ssh_proxy_jump: {
    description: 'Jump hosts, as ssh -J: "user@jump1:22,jump2" (ssh_config ProxyJump)',
    type: 'string',
  },
  ssh_max_channels: {
    description:
      'Commands and transfers running at once on the one connection; more wait their turn',
    type: 'integer',
    default: 8,
  },
  ssh_jump_max_channels: {
    description:
      'Targets that share one connection to a jump host (a direct-tcpip channel each); past it another connection to the hop is opened',
    type: 'integer',
    default: 64,
  },
  ssh_command_session: {
    description:
      'Run plain commands (no stdin, terminal, secret or su prompt) one after another in one long-lived remote sh per connection instead of an exec channel each',
    type: 'boolean',
    default: true,
  },
  ssh_allow_match_exec: {
    description: 'Run ssh_config "Match exec" commands (never run unless true)',
    type: 'boolean',
    default: false,
  },
  su_password: {
    description:
      "Password of the suUser account, typed at su's prompt when su asks for one (not with sudo or doas)",
    type: 'string',
    secret: true,
  },
  sudo_password: {
    description: 'sudo password for this host, used when sudo says it needs one',
    type: 'string',
    secret: true,
  },
} as const satisfies DataMetaMap;

/** The typed data an `SshConnector` works with. */
export type SshData = ConnectorData<typeof SSH_DATA_META>;
