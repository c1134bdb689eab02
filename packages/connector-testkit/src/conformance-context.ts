import { Writable } from 'node:stream';
import type {
  CommandInput,
  CommandResult,
  Connector,
  FileOptions,
  RunShellCommandOptions,
} from '@infra/core';
import { sh } from '@infra/core';
import { TEST_USERS } from './test-users.js';

/** What the parts of the conformance suite share: the connector and its temp dirs, once made. */
export interface ConformanceContext {
  connector(): Connector;
  /** The remote temp dir (`mktemp -d` on the peer). */
  dir(): string;
  /** A local temp dir. */
  localDir(): string;
  run(command: CommandInput, options?: RunShellCommandOptions): Promise<CommandResult>;
  runOk(command: CommandInput, options?: RunShellCommandOptions): Promise<CommandResult>;
}

export async function errorOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Poll on the peer (at most ~5 s) until the process whose pid is in `pidFile` is gone or a zombie. */
export function processGoneCommand(pidFile: string): CommandInput {
  return sh`p=$(cat ${pidFile}) || exit 2; i=0; while [ $i -lt 50 ]; do if [ -r /proc/$p/stat ]; then s=$(sed 's/.*) //' /proc/$p/stat | cut -c1); [ "$s" = Z ] && exit 0; elif ! kill -0 $p 2>/dev/null; then exit 0; fi; sleep 0.1; i=$((i+1)); done; echo "process $p is still running" >&2; exit 1`;
}

/** `ls -lnA` of a directory: every name in it, dot files included (temp files are dot files). */
export async function namesIn(
  context: ConformanceContext,
  dir: string,
  options?: FileOptions,
): Promise<string[]> {
  const listing = await context.runOk(sh`ls -A ${dir}`, options);
  return listing.output.stdoutLines;
}

/** The `-rw-r-----` and the uid `ls -ln` shows for a path. */
export async function modeAndOwner(
  context: ConformanceContext,
  path: string,
): Promise<{ mode: string; uid: string }> {
  const fields = (await context.runOk(sh`ls -ln ${path}`)).output.stdout.split(/\s+/);
  return { mode: fields[0] ?? '', uid: fields[2] ?? '' };
}

/** The ways a connector can run things as another user. */
export type BecomeMethod = 'sudo' | 'su' | 'doas';

export interface ConformanceCapabilities {
  /** The become methods the connector and its peer support (none by default). */
  become?: readonly BecomeMethod[];
  /** The user to become: one for every method, or one per method (default `TEST_USERS.plain.name`). */
  becomeUser?: string | Partial<Record<BecomeMethod, string>>;
  /** The connector honours `getPty`. */
  pty?: boolean;
}

/** Every byte value, four times over in different orders: what binary-safe means. */
export function allByteValues(): Buffer {
  const up = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const down = Buffer.from(up).reverse();
  const pairs = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
  return Buffer.concat([up, down, pairs, Buffer.from('\r\n\n\r\0end')]);
}

/** File names that break naive quoting. */
export const AWKWARD_FILE_NAMES: readonly string[] = [
  'with space.txt',
  "single'quote.txt",
  'double"quote.txt',
  'new\nline.txt',
  'dollar $HOME `tick` \\back.txt',
  'ünïcødé ✓ 日本 🚀.txt',
  '-leading-dash.txt',
];

/** A writable that keeps what it is given. */
export class BufferSink extends Writable {
  readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    callback();
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export function becomeArguments(method: BecomeMethod, user: string): FileOptions {
  switch (method) {
    case 'sudo':
      return { sudo: true, sudoUser: user };
    case 'su':
      return { suUser: user };
    case 'doas':
      return { doas: true, doasUser: user };
  }
}

export function becomeUserFor(capabilities: ConformanceCapabilities, method: BecomeMethod): string {
  const configured = capabilities.becomeUser;
  if (typeof configured === 'string') return configured;
  return configured?.[method] ?? TEST_USERS.plain.name;
}
