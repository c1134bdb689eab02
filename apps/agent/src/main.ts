import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  AGENT_HELP,
  type AgentOptions,
  AgentUsageError,
  parseAgentArgs,
  TOKEN_ENV,
} from './agent-options.js';
import { type AgentConfig, AgentServer } from './agent-server.js';
import { AGENT_VERSION } from './resource-document.js';

export interface MainIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: MainIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

async function readOptionalFile(flag: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new AgentUsageError(
      `${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error}).`,
    );
  }
}

/** The token from --token-file or the environment; undefined only with --insecure-no-auth. */
async function resolveToken(options: AgentOptions, io: MainIo): Promise<string | undefined> {
  if (options.insecureNoAuth) return undefined;
  if (options.tokenFile !== undefined) {
    const text = (await readOptionalFile('--token-file', options.tokenFile)).toString('utf8');
    const token = text.split(/\r?\n/)[0]?.trim() ?? '';
    if (token === '')
      throw new AgentUsageError(
        `--token-file ${options.tokenFile}: the file's first line is empty.`,
      );
    const info = await stat(options.tokenFile);
    if ((info.mode & 0o077) !== 0) {
      io.stderr(
        `infra-agent: warning: ${options.tokenFile} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it.\n`,
      );
    }
    return token;
  }
  const token = io.env[TOKEN_ENV]?.trim();
  if (token === undefined || token === '') {
    throw new AgentUsageError(
      `No token: set ${TOKEN_ENV} or pass --token-file PATH (or --insecure-no-auth, on a loopback address only).`,
    );
  }
  return token;
}

/** Build the server's configuration from the options: read the token and TLS files. */
export async function loadAgentConfig(
  options: AgentOptions,
  io: MainIo = processIo,
): Promise<AgentConfig> {
  const token = await resolveToken(options, io);
  const tls =
    options.tlsCertFile !== undefined && options.tlsKeyFile !== undefined
      ? {
          cert: await readOptionalFile('--tls-cert', options.tlsCertFile),
          key: await readOptionalFile('--tls-key', options.tlsKeyFile),
        }
      : undefined;
  const commandEnv = { ...io.env };
  delete commandEnv[TOKEN_ENV];
  const stateDir =
    options.stateDir ??
    join(io.env.XDG_STATE_HOME || join(homedir() || '/tmp', '.local', 'state'), 'infra-agent');
  return { ...options, token, ...(tls ? { tls } : {}), commandEnv, stateDir };
}

/** After --shutdown-timeout, how long the last answers and connections get before the agent exits anyway. */
const SHUTDOWN_MARGIN_SECONDS = 5;

/** Run `infra-agent` with these arguments until SIGTERM / SIGINT; resolves to the exit code. */
export async function main(argv: readonly string[], io: MainIo = processIo): Promise<number> {
  let server: AgentServer;
  let url: string;
  try {
    const parsed = parseAgentArgs(argv);
    if (parsed.kind === 'help') {
      io.stdout(AGENT_HELP);
      return 0;
    }
    if (parsed.kind === 'version') {
      io.stdout(`${AGENT_VERSION}\n`);
      return 0;
    }
    const config = await loadAgentConfig(parsed.options, io);
    server = new AgentServer(config, (line) => io.stderr(`${new Date().toISOString()} ${line}\n`));
    await server.removeStaleTemps();
    try {
      url = await server.listen();
    } catch (error) {
      throw new AgentUsageError(
        `Cannot listen on ${config.host}:${config.port}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      );
    }
    const auth = config.token === undefined ? 'NO AUTH (--insecure-no-auth)' : 'bearer token';
    io.stderr(
      `infra-agent ${AGENT_VERSION} listening on ${url} (resource ${JSON.stringify(config.resourceId)}, auth: ${auth})\n`,
    );
  } catch (error) {
    if (error instanceof AgentUsageError) {
      io.stderr(`infra-agent: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  io.stderr(`${new Date().toISOString()} ${signal}: no new requests; finishing running commands\n`);
  // Whatever is in flight, the shutdown ends by a deadline: the commands' grace, then a little more.
  const deadlineSeconds = server.config.shutdownTimeoutSeconds + SHUTDOWN_MARGIN_SECONDS;
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    server.shutdown().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), deadlineSeconds * 1000);
    }),
  ]);
  clearTimeout(timer);
  if (!stopped) {
    io.stderr(
      `${new Date().toISOString()} shutdown did not finish within ${deadlineSeconds}s: exiting with requests still open\n`,
    );
    return 1;
  }
  io.stderr(`${new Date().toISOString()} stopped\n`);
  return 0;
}
