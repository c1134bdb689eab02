import { hostname } from 'node:os';

/** A command line the agent cannot run with; the message says what to change. */
export class AgentUsageError extends Error {
  readonly code = 'AGENT_USAGE';

  constructor(message: string) {
    super(message);
    this.name = 'AgentUsageError';
  }
}

/** What the command line asks for, before files (token, TLS) are read. */
export interface AgentOptions {
  readonly host: string;
  readonly port: number;
  readonly resourceId: string;
  readonly tokenFile: string | undefined;
  readonly insecureNoAuth: boolean;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly maxBodyBytes: number;
  readonly maxOutputBytes: number;
  readonly maxConcurrentCommands: number;
  readonly maxTimeoutSeconds: number;
  readonly shutdownTimeoutSeconds: number;
  /** Where the agent keeps notes of the files it is writing (--state-dir); undefined: the default. */
  readonly stateDir: string | undefined;
}

export type ParsedArgs =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'run'; readonly options: AgentOptions };

export const DEFAULT_LISTEN = '127.0.0.1:8765';
export const TOKEN_ENV = 'INFRA_AGENT_TOKEN';

const MIB = 1024 * 1024;

export const AGENT_HELP = `Usage: infra-agent [options]

Serves the infra REST exec protocol (docs/rest-protocol.md) for this machine.

Options:
  --listen HOST:PORT        Address to listen on (default ${DEFAULT_LISTEN}; [::1]:PORT for IPv6;
                            port 0 picks a free port, printed at start).
  --resource-id ID          The ID this host is served under (default: the hostname).
  --token-file PATH         Read the API token from PATH (first line). Without it the token is
                            read from the ${TOKEN_ENV} environment variable. There is no
                            token flag: a flag would show in \`ps\`.
  --insecure-no-auth        Run without a token. Refused unless --listen is a loopback address.
  --tls-cert PATH           PEM certificate (chain) for HTTPS; needs --tls-key.
  --tls-key PATH            PEM private key for HTTPS; needs --tls-cert.
  --max-body SIZE           Largest request body accepted, else 413 (default 128M).
                            SIZE is bytes, or a number with K, M or G (powers of 1024).
  --max-output SIZE         Output kept per stream of a buffered command (default 16M); past it
                            the rest is dropped and a truncation marker is appended.
  --max-concurrent N        Commands running at once, else 429 (default 8).
  --max-timeout SECONDS     Largest per-command timeout a client may ask for (default 86400).
  --shutdown-timeout SECONDS
                            On SIGTERM/SIGINT, how long running commands may finish before
                            their process groups are killed (default 30).
  --state-dir DIR           Where the agent notes the temporary files of uploads under way, so
                            that the next agent removes those an agent killed mid-upload left
                            (default $XDG_STATE_HOME/infra-agent or ~/.local/state/infra-agent).
  --help                    Show this help.
  --version                 Show the version.

Every request needs the header "Authorization: Bearer <token>". One line is logged per
request on stderr (method, route, resource, status, duration); tokens and commands never are.
`;

const VALUE_FLAGS = new Set([
  '--listen',
  '--resource-id',
  '--token-file',
  '--tls-cert',
  '--tls-key',
  '--max-body',
  '--max-output',
  '--max-concurrent',
  '--max-timeout',
  '--shutdown-timeout',
  '--state-dir',
]);

/** `127.0.0.1:8765`, `[::1]:8765`, `localhost:0` -> host and port. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port > 65535) {
    throw new AgentUsageError(
      `--listen ${JSON.stringify(value)}: expected HOST:PORT such as 127.0.0.1:8765 or [::1]:8765 (port 0 to 65535).`,
    );
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `1024`, `64K`, `16M`, `1G` -> bytes. */
export function parseSize(flag: string, value: string): number {
  const match = /^(\d+)([KMG]i?B?)?$/i.exec(value.trim());
  if (!match) {
    throw new AgentUsageError(
      `${flag} ${JSON.stringify(value)}: expected a size in bytes, or a number with K, M or G (e.g. 16M).`,
    );
  }
  const unit = (match[2] ?? '').charAt(0).toUpperCase();
  const factor = unit === 'K' ? 1024 : unit === 'M' ? MIB : unit === 'G' ? 1024 * MIB : 1;
  const bytes = Number(match[1]) * factor;
  if (bytes < 1 || !Number.isSafeInteger(bytes)) {
    throw new AgentUsageError(`${flag} ${JSON.stringify(value)}: expected at least 1 byte.`);
  }
  return bytes;
}

function parsePositive(flag: string, value: string, integer: boolean): number {
  const number = Number(value);
  if (
    value.trim() === '' ||
    !Number.isFinite(number) ||
    number <= 0 ||
    (integer && !Number.isInteger(number))
  ) {
    throw new AgentUsageError(
      `${flag} ${JSON.stringify(value)}: expected a positive ${integer ? 'integer' : 'number'}.`,
    );
  }
  return number;
}

/** Parse the command line. Throws `AgentUsageError` naming the flag at fault. */
export function parseAgentArgs(
  argv: readonly string[],
  defaultResourceId = hostname(),
): ParsedArgs {
  const values = new Map<string, string>();
  let insecureNoAuth = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-v') return { kind: 'version' };
    if (arg === '--insecure-no-auth') {
      insecureNoAuth = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq !== -1 ? arg.slice(0, eq) : arg;
    if (flag === '--token' || flag === '--api-key') {
      throw new AgentUsageError(
        `${flag} is not accepted: a token on the command line shows in \`ps\`. Put it in the ${TOKEN_ENV} environment variable or in a file named by --token-file.`,
      );
    }
    if (!VALUE_FLAGS.has(flag)) {
      throw new AgentUsageError(`Unknown option ${JSON.stringify(arg)}. Run infra-agent --help.`);
    }
    const value = eq !== -1 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined)
      throw new AgentUsageError(`${flag} needs a value. Run infra-agent --help.`);
    values.set(flag, value);
  }

  const { host, port } = parseListen(values.get('--listen') ?? DEFAULT_LISTEN);
  const resourceId = values.get('--resource-id') ?? defaultResourceId;
  if (resourceId === '' || /[\u0000-\u001f/]/.test(resourceId)) {
    throw new AgentUsageError(
      `--resource-id ${JSON.stringify(resourceId)}: expected a non-empty ID without "/" or control characters.`,
    );
  }
  const tlsCertFile = values.get('--tls-cert');
  const tlsKeyFile = values.get('--tls-key');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new AgentUsageError(
      '--tls-cert and --tls-key go together: give both files, or neither for plain HTTP.',
    );
  }
  const tokenFile = values.get('--token-file');
  if (insecureNoAuth && tokenFile !== undefined) {
    throw new AgentUsageError(
      '--insecure-no-auth and --token-file contradict each other: choose one.',
    );
  }
  if (insecureNoAuth && !isLoopback(host)) {
    throw new AgentUsageError(
      `--insecure-no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost), not ${host}: anyone who can reach ${host} could run commands as this user. Use a token.`,
    );
  }
  const size = (flag: string, fallback: number) => {
    const value = values.get(flag);
    return value === undefined ? fallback : parseSize(flag, value);
  };
  const positive = (flag: string, fallback: number, integer: boolean) => {
    const value = values.get(flag);
    return value === undefined ? fallback : parsePositive(flag, value, integer);
  };
  return {
    kind: 'run',
    options: {
      host,
      port,
      resourceId,
      tokenFile,
      insecureNoAuth,
      tlsCertFile,
      tlsKeyFile,
      maxBodyBytes: size('--max-body', 128 * MIB),
      maxOutputBytes: size('--max-output', 16 * MIB),
      maxConcurrentCommands: positive('--max-concurrent', 8, true),
      maxTimeoutSeconds: positive('--max-timeout', 86400, false),
      shutdownTimeoutSeconds: positive('--shutdown-timeout', 30, false),
      stateDir: values.get('--state-dir'),
    },
  };
}
