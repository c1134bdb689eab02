import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { InventoryError, type SecretPrompt } from '@infra/core';
import type { HostKeyPolicy, StrictHostKeyChecking } from './known-hosts.js';
import { buildAuthAttempts, defaultIdentityFiles } from './ssh-auth.js';
import {
  defaultSshConfigFile,
  expandTokens,
  readSshConfig,
  SshConfigError,
  type SshHostConfig,
} from './ssh-config.js';
import type { SshConnectionOptions, SshLogin } from './ssh-connection.js';
import type { SshData } from './ssh-data.js';

/** `user@host:port`, `host`, `[::1]:2222` split into parts (any of user and port may be missing). */
export interface HostSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

/** Parse `[user@]host[:port]` (IPv6 in brackets, `ssh://` allowed); throws `InventoryError`. */
export function parseHostSpec(text: string): HostSpec {
  const value = text.startsWith('ssh://') ? text.slice('ssh://'.length) : text;
  const at = value.lastIndexOf('@');
  const user = at === -1 ? undefined : value.slice(0, at);
  const rest = at === -1 ? value : value.slice(at + 1);
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else {
    const colon = rest.indexOf(':');
    if (colon !== -1 && rest.indexOf(':', colon + 1) !== -1) {
      host = rest; // a bare IPv6 address, no port
    } else {
      host = colon === -1 ? rest : rest.slice(0, colon);
      portText = colon === -1 ? undefined : rest.slice(colon + 1);
    }
  }
  const expected = 'expected [user@]host[:port], e.g. web1, deploy@web1 or deploy@web1:2222';
  if (host === '' || /[\s/@]/.test(host) || user === '') {
    throw new InventoryError(`SSH host ${JSON.stringify(text)} is not valid: ${expected}.`);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
      throw new InventoryError(
        `SSH host ${JSON.stringify(text)} has port ${JSON.stringify(portText)}: expected a number from 1 to 65535 (${expected}).`,
      );
    }
  }
  return { ...(user === undefined ? {} : { user }), host, ...(port === undefined ? {} : { port }) };
}

const STRICT_FROM_CONFIG: Record<string, StrictHostKeyChecking> = {
  yes: 'yes',
  ask: 'yes',
  'accept-new': 'accept-new',
  no: 'no',
  off: 'no',
};

/** The resolved plan for connecting to one host. */
export interface SshSettings {
  readonly connection: SshConnectionOptions;
  readonly connectRetries: number;
  readonly retryMinDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** Warnings to log (skipped Match exec blocks, unusable keys). */
  readonly warnings: readonly string[];
}

interface ResolveInput {
  readonly hostName: string;
  readonly data: SshData;
  /** The host's raw data, to tell a value the user set from a default. */
  readonly hostData: Readonly<Record<string, unknown>>;
  readonly env?: NodeJS.ProcessEnv;
  /** Asks for an encrypted key's passphrase: the host's `prompt` (none in library use). */
  readonly askPassphrase?: SecretPrompt;
}

function readConfig(
  data: SshData,
  host: string,
  user: string | undefined,
  env: NodeJS.ProcessEnv,
): SshHostConfig {
  // As @ssh-config: ssh_config_file, else $INFRA_SSH_CONFIG_FILE, else ~/.ssh/config.
  const file = data.ssh_config_file || env.INFRA_SSH_CONFIG_FILE || defaultSshConfigFile();
  if (file === undefined) return { identityFiles: [], skippedMatchExec: [] };
  return readSshConfig(file, {
    host,
    ...(user === undefined ? {} : { user }),
    allowMatchExec: data.ssh_allow_match_exec,
  });
}

function agentSocketFrom(
  data: SshData,
  config: SshHostConfig,
  env: NodeJS.ProcessEnv,
  tokens: Parameters<typeof expandTokens>[1],
): string | undefined {
  if (!data.ssh_allow_agent) return undefined;
  const configured = config.identityAgent;
  if (configured === undefined || configured === 'SSH_AUTH_SOCK')
    return env.SSH_AUTH_SOCK || undefined;
  if (configured === 'none') return undefined;
  if (configured.startsWith('$')) return env[configured.slice(1)] || undefined;
  return expandTokens(configured, tokens);
}

function knownHostsFiles(
  data: SshData,
  config: SshHostConfig,
  tokens: Parameters<typeof expandTokens>[1],
): string[] {
  if (data.ssh_known_hosts_file !== undefined)
    return [expandTokens(data.ssh_known_hosts_file, tokens)];
  const user = config.userKnownHostsFiles
    ? config.userKnownHostsFiles.filter((f) => f !== 'none').map((f) => expandTokens(f, tokens))
    : [join(homedir(), '.ssh', 'known_hosts'), join(homedir(), '.ssh', 'known_hosts2')];
  const global = '/etc/ssh/ssh_known_hosts';
  return existsSync(global) ? [...user, global] : user;
}

type Tokens = Parameters<typeof expandTokens>[1];

/**
 * The login for one host of the route. A jump host (`hop`) gets its settings from its
 * own ssh_config block and the default key files, never the target's ssh_key,
 * ssh_key_password or ssh_password (as `ssh -J` does).
 */
async function resolveLogin(
  alias: string,
  userGiven: string | undefined,
  portGiven: number | undefined,
  targetData: SshData,
  env: NodeJS.ProcessEnv,
  warnings: string[],
  role: 'target' | 'hop' = 'target',
  askPassphrase?: SecretPrompt,
): Promise<{ login: SshLogin; config: SshHostConfig; tokens: Tokens }> {
  const data: SshData =
    role === 'target'
      ? targetData
      : { ...targetData, ssh_key: undefined, ssh_key_password: undefined, ssh_password: undefined };
  const config = readConfig(data, alias, userGiven, env);
  for (const skipped of config.skippedMatchExec) {
    warnings.push(`${skipped} was not run (set ssh_allow_match_exec to run Match exec commands)`);
  }
  const user = userGiven ?? config.user ?? userInfo().username;
  const port = portGiven ?? config.port ?? 22;
  const aliasTokens = { host: alias, port, user, originalHost: alias };
  const host = config.hostName ? expandTokens(config.hostName, aliasTokens) : alias;
  const tokens = { host, port, user, originalHost: alias };

  const keyFiles: { path: string; explicit: boolean }[] = [];
  if (data.ssh_key !== undefined)
    keyFiles.push({ path: expandTokens(data.ssh_key, tokens), explicit: true });
  for (const file of config.identityFiles) {
    const path = expandTokens(file, tokens);
    if (existsSync(path)) keyFiles.push({ path, explicit: false });
  }
  if (keyFiles.length === 0) {
    for (const path of defaultIdentityFiles()) keyFiles.push({ path, explicit: false });
  }
  const agentSocket = agentSocketFrom(data, config, env, tokens);
  const { attempts, problems } = await buildAuthAttempts({
    username: user,
    ...(agentSocket === undefined ? {} : { agentSocket }),
    keyFiles,
    ...(data.ssh_key_password === undefined ? {} : { keyPassphrase: data.ssh_key_password }),
    ...(data.ssh_password === undefined ? {} : { password: data.ssh_password }),
    ...(askPassphrase === undefined ? {} : { askPassphrase }),
  });
  warnings.push(...problems);
  const strict: StrictHostKeyChecking =
    data.ssh_strict_host_key_checking ??
    STRICT_FROM_CONFIG[config.strictHostKeyChecking ?? ''] ??
    'accept-new';
  const hostKeyPolicy: HostKeyPolicy = {
    files: knownHostsFiles(data, config, tokens),
    strict,
    host,
    port,
  };
  return {
    login: { endpoint: { host, port, username: user }, hostKeyPolicy, attempts, problems },
    config,
    tokens,
  };
}

/** ProxyJump hops followed before their own jump hosts are looked up (OpenSSH has no limit but loops). */
const MAX_JUMP_DEPTH = 16;

/** How the first login of a route is reached: TCP, or the stdin/stdout of a command. */
interface Route {
  readonly jumps: SshLogin[];
  readonly proxyCommand: string | undefined;
}

function ownProxyCommand(config: SshHostConfig, tokens: Tokens): string | undefined {
  const command = config.proxyCommand;
  return command === undefined || command.toLowerCase() === 'none'
    ? undefined
    : expandTokens(command, tokens);
}

/**
 * The logins to make, first to last, to reach the host after `hops` — as OpenSSH
 * does it: the last hop is reached through the hops before it (`ssh -J a,b` runs
 * `ssh -J a b -W ...`), or, when it is the only one, through its own ProxyJump
 * (or ProxyCommand) from ssh_config, recursively. Each hop logs in with its own
 * ssh_config settings (User, Port, HostName, IdentityFile...).
 */
async function resolveRoute(
  hops: readonly HostSpec[],
  data: SshData,
  env: NodeJS.ProcessEnv,
  warnings: string[],
  via: readonly string[],
  askPassphrase?: SecretPrompt,
): Promise<Route> {
  const last = hops.at(-1);
  if (last === undefined) return { jumps: [], proxyCommand: undefined };
  const chain = [...via, last.host];
  if (chain.length > MAX_JUMP_DEPTH) {
    throw new SshConfigError(
      `ProxyJump chain ${chain.join(' <- ')} is longer than ${MAX_JUMP_DEPTH} hops: a jump host's ProxyJump leads back to itself? Set ProxyJump none in the jump host's Host block, or fix ssh_proxy_jump.`,
    );
  }
  const hop = await resolveLogin(
    last.host,
    last.user,
    last.port,
    data,
    env,
    warnings,
    'hop',
    askPassphrase,
  );
  let before: Route;
  if (hops.length > 1) {
    before = await resolveRoute(hops.slice(0, -1), data, env, warnings, chain, askPassphrase);
  } else if (hop.config.proxyJump !== undefined && hop.config.proxyJump.toLowerCase() !== 'none') {
    const jumps = parseProxyJump(hop.config.proxyJump);
    before = await resolveRoute(jumps, data, env, warnings, chain, askPassphrase);
  } else {
    before = { jumps: [], proxyCommand: ownProxyCommand(hop.config, hop.tokens) };
  }
  return { jumps: [...before.jumps, hop.login], proxyCommand: before.proxyCommand };
}

/** Split a ProxyJump value (`a,user@b:2222`) into hops. */
export function parseProxyJump(value: string): HostSpec[] {
  return value
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop !== '')
    .map(parseHostSpec);
}

/**
 * Work out how to reach a host: ssh_config for the alias (inventory data wins),
 * the key files and agent to try, the known_hosts policy, jump hosts or a proxy
 * command. Reads files and may ask for a key passphrase; runs nothing else.
 */
export async function resolveSshSettings(input: ResolveInput): Promise<SshSettings> {
  const { data, hostData } = input;
  const env = input.env ?? process.env;
  const warnings: string[] = [];
  const alias = data.ssh_hostname ?? input.hostName.replace(/^@ssh[:/]/, '');
  const { askPassphrase } = input;
  const target = await resolveLogin(
    alias,
    data.ssh_user,
    data.ssh_port,
    data,
    env,
    warnings,
    'target',
    askPassphrase,
  );

  const jumpValue = data.ssh_proxy_jump ?? target.config.proxyJump;
  const route =
    jumpValue !== undefined && jumpValue.toLowerCase() !== 'none'
      ? await resolveRoute(parseProxyJump(jumpValue), data, env, warnings, [alias], askPassphrase)
      : { jumps: [], proxyCommand: ownProxyCommand(target.config, target.tokens) };
  const { jumps, proxyCommand } = route;

  const timeoutSeconds =
    hostData.ssh_connect_timeout === undefined && target.config.connectTimeout !== undefined
      ? target.config.connectTimeout
      : data.ssh_connect_timeout;
  const forwardAgent =
    hostData.ssh_forward_agent === undefined && target.config.forwardAgent !== undefined
      ? target.config.forwardAgent
      : data.ssh_forward_agent;
  const agentSocket = agentSocketFrom(data, target.config, env, target.tokens);

  return {
    connection: {
      login: target.login,
      jumps,
      ...(proxyCommand === undefined ? {} : { proxyCommand }),
      connectTimeoutMs: Math.round(timeoutSeconds * 1000),
      keepaliveIntervalMs: Math.round(data.ssh_keepalive_interval * 1000),
      agentForward: forwardAgent,
      ...(agentSocket === undefined ? {} : { agentSocket }),
      maxChannels: data.ssh_max_channels,
      jumpMaxChannels: data.ssh_jump_max_channels,
    },
    connectRetries: data.ssh_connect_retries,
    retryMinDelayMs: data.ssh_connect_retry_min_delay * 1000,
    retryMaxDelayMs: data.ssh_connect_retry_max_delay * 1000,
    warnings,
  };
}
