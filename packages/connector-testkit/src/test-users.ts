import { execFileSync } from 'node:child_process';

/** A plain test user created by `scripts/setup-test-host.sh` (CI runs it from `.ci/run`). */
export interface TestUser {
  readonly name: string;
  /** Test-only password, known to the fixtures. */
  readonly password: string;
}

/** The users the become / ssh tests log in as or switch to. */
export const TEST_USERS = {
  /** No sudo rights at all. */
  plain: { name: 'infra-plain', password: 'infra-plain-pw' },
  /** `sudo` with NOPASSWD, and `doas` with nopass. */
  sudo: { name: 'infra-sudo', password: 'infra-sudo-pw' },
  /** `sudo` that asks for this password. */
  sudoPassword: { name: 'infra-sudopw', password: 'infra-sudopw-pw' },
} as const satisfies Record<string, TestUser>;

/** True when a user exists on this machine. */
export function userExists(name: string): boolean {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The names of the test users that are missing here (empty when all are set up). */
export function missingTestUsers(): string[] {
  return Object.values(TEST_USERS)
    .map((u) => u.name)
    .filter((name) => !userExists(name));
}
