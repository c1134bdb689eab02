import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI, run with `node` as a user would run it. */
export const INFRA_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const CLI_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const LOCAL_CONNECTOR_ENTRY = join(REPO_ROOT, 'packages/connector-local/dist/index.js');

export interface ProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of the test process without the knobs that change the CLI's output. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ['FORCE_COLOR', 'NO_COLOR', 'INFRA_SUDO_PASSWORD']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

/** Run a program to its end; never rejects on a non-zero exit. */
export function runProgram(
  file: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { cwd: options.cwd, env: options.env ?? cleanEnv(), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        if (error && code === null && !error.signal) return reject(error);
        resolve({ code, signal: error?.signal ?? null, stdout, stderr } as ProcessResult);
      },
    );
  });
}

/** `node dist/bin.js ARGS` in `cwd`. */
export function runInfra(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<ProcessResult> {
  return runProgram(process.execPath, [INFRA_BIN, ...args], options);
}

/** Start `infra` and hand back the child, for tests that signal it. */
export function startInfra(args: readonly string[], cwd: string) {
  return spawn(process.execPath, [INFRA_BIN, ...args], { cwd, env: cleanEnv(), stdio: 'pipe' });
}

/** Parse NDJSON output: one event per non-empty line. */
export function parseEvents(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * A project directory whose own package.json registers a `fake` connector: the
 * real local connector with a secret data key and one host per name in its
 * argument (`@fake:a+b+c`). Each command gets FAKE_HOST set to its host's name.
 * It also registers `inv`, an inventory-only connector that yields one `@fake` host
 * (`@inv:nested` reaches it through a second `@inv`, `@inv:loop` yields itself).
 */
export async function makeFakeConnectorProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-cli-project-'));
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'infra-cli-test-project',
      private: true,
      type: 'module',
      infra: { connectors: { fake: './fake-connector.mjs', inv: './inventory-connector.mjs' } },
    }),
  );
  await writeFile(
    join(dir, 'fake-connector.mjs'),
    `import LocalConnector from ${JSON.stringify(LOCAL_CONNECTOR_ENTRY)};

export default class FakeConnector extends LocalConnector {
  static description = 'Local commands under several host names (test fixture).';
  static dataMeta = {
    fake_token: { description: 'A token', type: 'string', secret: true },
    fake_pin: { description: 'A PIN', type: 'integer', secret: true },
    fake_greeting: { description: 'Said on connect', type: 'string', default: 'hello' },
    fake_unreachable: { description: 'Fail to connect', type: 'boolean', default: false },
    fake_connect_delay: { description: 'Milliseconds connect() takes', type: 'integer', default: 0 },
  };

  static makeNamesData(arg) {
    return (arg ?? 'fake').split('+').map((name) => [name, {}, ['fake']]);
  }

  async connect() {
    await new Promise((resolve) => setTimeout(resolve, this.host.data.fake_connect_delay));
    if (this.host.data.fake_unreachable) {
      throw Object.assign(new Error(\`Could not connect to \${this.host.name}: unreachable on purpose\`), {
        code: 'CONNECT_FAILED',
      });
    }
    this.host.log.info(\`\${this.host.data.fake_greeting}, token \${this.host.data.fake_token}\`);
    // A careless connector: the CLI must still keep the secret out of what it prints.
    const raw = this.host.data.fake_token?.getRawValue?.();
    if (raw) this.host.log.debug(\`raw token \${raw}\`);
  }

  runShellCommand(command, options = {}) {
    return super.runShellCommand(command, { ...options, env: { ...options.env, FAKE_HOST: this.host.name } });
  }
}
`,
  );
  await writeFile(
    join(dir, 'inventory-connector.mjs'),
    `export default class InventoryConnector {
  static specificationVersion = 'v1';
  static handlesExecution = false;
  static description = 'Hosts for the fake connector (test fixture).';
  static dataMeta = {};
  // @inv: one @fake host; @inv:nested: @inv through a second inventory step;
  // @inv:loop: itself (refused). Asynchronous, like a connector asking an API.
  static async *makeNamesData(arg) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (arg === 'loop') yield ['@inv:loop', {}, []];
    else if (arg === 'nested') yield ['@inv', { fake_greeting: 'hi from nested', fake_pin: 1234 }, ['nested']];
    else yield ['@fake', { fake_greeting: 'hi from inventory' }, ['from-inventory']];
  }
}
`,
  );
  return dir;
}
