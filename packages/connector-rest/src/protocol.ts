/**
 * The REST exec protocol as the connector speaks it (docs/rest-protocol.md):
 * the base, and the optional extensions a server advertises in its resource JSON.
 */

/** The extensions this connector knows, each at the version it speaks. */
export const KNOWN_EXTENSIONS = {
  /** NDJSON output events for `exec` (`Accept: application/x-ndjson`). */
  execStream: { name: 'exec-stream', version: 1 },
  /** `"stdin": "<base64>"` in the exec request. */
  execStdin: { name: 'exec-stdin', version: 1 },
  /** `"env": {"NAME": "value"}` in the exec request. */
  execEnv: { name: 'exec-env', version: 1 },
  /** `timed_out` and `signal` in the exec answer. */
  execStatus: { name: 'exec-status', version: 1 },
  /** Raw file bytes: `PUT` / `GET` `/files/{path}` with `application/octet-stream`. */
  filesRaw: { name: 'files-raw', version: 1 },
} as const;

export type ExtensionKey = keyof typeof KNOWN_EXTENSIONS;

/** What the server's resource JSON says about extensions and limits. */
export interface ServerFeatures {
  readonly extensions: ReadonlySet<ExtensionKey>;
  /** `limits.max_body_bytes`, when advertised. */
  readonly maxBodyBytes: number | undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Read the advertised extensions: `"extensions": {"exec-stream": [1], ...}`, each
 * with the versions the server speaks. Only those at a version we know count;
 * anything else (a base server's plain resource JSON) means none.
 */
export function readServerFeatures(
  resource: unknown,
  disabled: readonly string[] = [],
): ServerFeatures {
  const extensions = new Set<ExtensionKey>();
  const advertised = isRecord(resource) && isRecord(resource.extensions) ? resource.extensions : {};
  for (const [key, { name, version }] of Object.entries(KNOWN_EXTENSIONS) as [
    ExtensionKey,
    { name: string; version: number },
  ][]) {
    const versions = advertised[name];
    if (disabled.includes(name)) continue;
    if (Array.isArray(versions) && versions.includes(version)) extensions.add(key);
  }
  const limits = isRecord(resource) && isRecord(resource.limits) ? resource.limits : {};
  const maxBody = limits.max_body_bytes;
  return {
    extensions,
    maxBodyBytes: typeof maxBody === 'number' && maxBody > 0 ? maxBody : undefined,
  };
}

/** How an exec ended, from either answer format. */
export interface ExecStatus {
  readonly exitCode: number;
  /** The signal that ended the command, when the server says so (exec-status). */
  readonly signal: string | null;
  /** The server killed the command at its timeout (exec-status). */
  readonly timedOut: boolean;
}

/** The base answer `{"exit_code": n, "stdout": "...", "stderr": "..."}`, checked. */
export interface ExecAnswer extends ExecStatus {
  readonly stdout: string;
  readonly stderr: string;
}

/** Check a base exec answer; returns a message naming the bad field, or the answer. */
export function parseExecAnswer(value: unknown): ExecAnswer | string {
  if (!isRecord(value)) return 'the exec answer is not a JSON object';
  const { exit_code: exitCode, stdout = '', stderr = '' } = value;
  if (typeof exitCode !== 'number' || !Number.isInteger(exitCode)) {
    return `"exit_code" is ${JSON.stringify(exitCode)}, expected an integer`;
  }
  if (typeof stdout !== 'string') return '"stdout" is not a string';
  if (typeof stderr !== 'string') return '"stderr" is not a string';
  return { exitCode, stdout, stderr, ...statusExtras(value) };
}

function statusExtras(value: Record<string, unknown>): {
  signal: string | null;
  timedOut: boolean;
} {
  return {
    signal: typeof value.signal === 'string' && value.signal !== '' ? value.signal : null,
    timedOut: value.timed_out === true,
  };
}

/** One NDJSON event of the exec-stream extension. */
export type StreamEvent =
  | { readonly type: 'stdout' | 'stderr'; readonly data: Buffer }
  | ({ readonly type: 'exit' } & ExecStatus)
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'unknown' };

/** Parse one NDJSON line; returns a message naming what is wrong, or the event. */
export function parseStreamEvent(line: string): StreamEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return `a stream line is not JSON: ${JSON.stringify(line.slice(0, 100))}`;
  }
  if (!isRecord(value)) return 'a stream line is not a JSON object';
  switch (value.type) {
    case 'stdout':
    case 'stderr':
      if (typeof value.data !== 'string') return `a ${value.type} event has no "data" string`;
      return { type: value.type, data: Buffer.from(value.data, 'base64') };
    case 'exit':
      if (typeof value.exit_code !== 'number' || !Number.isInteger(value.exit_code)) {
        return `the exit event's "exit_code" is ${JSON.stringify(value.exit_code)}, expected an integer`;
      }
      return { type: 'exit', exitCode: value.exit_code, ...statusExtras(value) };
    case 'error':
      return {
        type: 'error',
        message: typeof value.message === 'string' ? value.message : 'unknown error',
      };
    default:
      // Later versions may add events: ignore what we do not know.
      return { type: 'unknown' };
  }
}

/** `/etc/hosts` -> `/etc/hosts`, `/a b/ü` -> `/a%20b/%C3%BC`: each segment percent-encoded, `/` kept. */
export function encodeFilePath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}
