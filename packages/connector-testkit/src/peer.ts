/**
 * Real peers (sshd, dockerd, sudo, the agent) are started by fixtures, never mocked.
 * When one cannot start, the tests that need it skip with a loud reason locally;
 * with `CI=true` a skip is a failure, so CI never passes by skipping.
 */
export class PeerUnavailableError extends Error {
  readonly code = 'PEER_UNAVAILABLE';

  constructor(peer: string, reason: string) {
    super(`${peer} is not available here: ${reason}`);
    this.name = 'PeerUnavailableError';
  }
}

export function isCI(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Say why a peer is missing: returns the reason to pass to `describe.skipIf` /
 * `it.skipIf` locally (printed loudly), and throws under CI.
 */
export function peerMissing(peer: string, reason: string | undefined): string | undefined {
  if (reason === undefined) return undefined;
  const error = new PeerUnavailableError(peer, reason);
  if (isCI()) throw error;
  process.stderr.write(`\n[connector-testkit] SKIPPING ${peer} tests: ${error.message}\n`);
  return error.message;
}

/** The reason the tests cannot run as root-only setups need, or undefined when they can. */
export function notRootReason(): string | undefined {
  return process.getuid?.() === 0
    ? undefined
    : 'these tests need root (they switch to the test users); run them as root, as CI does';
}
