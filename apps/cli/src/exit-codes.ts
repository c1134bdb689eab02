/** The CLI's exit codes. */
export const EXIT = {
  /** Every host succeeded. */
  ok: 0,
  /** At least one host failed (its command, or connecting to it). */
  hostFailed: 1,
  /** The command line, the inventory or a connector is wrong; nothing ran. */
  usage: 2,
  /** Stopped by Ctrl-C. */
  interrupted: 130,
  /** Stopped by SIGTERM. */
  terminated: 143,
} as const;

/**
 * Error codes (core's `InfraError.code`) that mean the input is wrong rather than a
 * host: usage, inventory, connector resolution and data, command arguments.
 */
const USAGE_ERROR_CODES = new Set([
  'USAGE',
  'INVENTORY_INVALID',
  'CONNECTOR_NOT_FOUND',
  'CONNECTOR_DATA_INVALID',
  'CONNECTOR_SPEC_MISMATCH',
  'COMMAND_ARGUMENT_INVALID',
  'QUOTE_INVALID',
  'SUDO_PASSWORD_REQUIRED',
  'DEPLOY_FILE_INVALID',
]);

/** The error's code when it has one (read by shape: errors may come from another copy of core). */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

/** The exit code for an error that ended the run before or instead of the hosts. */
export function exitCodeForError(error: unknown): number {
  return USAGE_ERROR_CODES.has(errorCode(error)) ? EXIT.usage : EXIT.hostFailed;
}

export { errorMessage } from '@infra/deploy/error-message';
