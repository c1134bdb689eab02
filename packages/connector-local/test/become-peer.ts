import { execFileSync } from 'node:child_process';
import { missingTestUsers, notRootReason } from '@infra/connector-testkit';

function missingCommands(): string[] {
  return ['sudo', 'su', 'doas'].filter((name) => {
    try {
      execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
}

/** Why the become tests cannot run here (run scripts/setup-test-host.sh as root), or undefined. */
export function becomeMissingReason(): string | undefined {
  const notRoot = notRootReason();
  if (notRoot) return notRoot;
  const commands = missingCommands();
  if (commands.length > 0) {
    return `${commands.join(', ')} not installed: run scripts/setup-test-host.sh as root`;
  }
  const users = missingTestUsers();
  if (users.length > 0) {
    return `test users ${users.join(', ')} missing: run scripts/setup-test-host.sh as root`;
  }
  return undefined;
}
