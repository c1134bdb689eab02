import { createRequire } from 'node:module';
import { arch, hostname, platform, release } from 'node:os';

const packageJson = createRequire(import.meta.url)('../package.json') as { version: string };

/** This agent's version, from its package.json. */
export const AGENT_VERSION: string = packageJson.version;

/**
 * The optional extensions this agent implements, each with the versions it
 * speaks. Clients use one only when they find it here (docs/rest-protocol.md).
 */
export const AGENT_EXTENSIONS = {
  'exec-stream': [1],
  'exec-stdin': [1],
  'exec-env': [1],
  'exec-status': [1],
  'files-raw': [1],
} as const;

export interface ResourceLimits {
  readonly maxBodyBytes: number;
  readonly maxOutputBytes: number;
  readonly maxConcurrentCommands: number;
  readonly maxTimeoutSeconds: number;
}

/** The JSON answered for `GET /resources/{id}`. */
export function resourceDocument(id: string, limits: ResourceLimits): Record<string, unknown> {
  return {
    id,
    kind: 'host',
    hostname: hostname(),
    os: { platform: platform(), release: release(), arch: arch() },
    agent: { name: 'infra-agent', version: AGENT_VERSION },
    protocol: 1,
    extensions: AGENT_EXTENSIONS,
    limits: {
      max_body_bytes: limits.maxBodyBytes,
      max_output_bytes: limits.maxOutputBytes,
      max_concurrent_commands: limits.maxConcurrentCommands,
      max_timeout_seconds: limits.maxTimeoutSeconds,
    },
  };
}
