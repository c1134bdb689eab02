// `sudo_password` in host data on @rest: an agent running as the user whose sudo asks
// for a password (from a copy outside the clone), and a connector whose run has no
// password to give. The REST connector once ignored the key.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AgentFixture,
  agentMissingReason,
  describeSudoPasswordFromHostData,
  missingTestUsers,
  notRootReason,
  peerMissing,
  type StagedPackages,
  stagePackages,
  startAgent,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe } from 'vitest';
import { connectRest } from './rest-host.js';

const skip = peerMissing(
  'infra-agent as the password-sudo user',
  agentMissingReason() ??
    notRootReason() ??
    (missingTestUsers().length > 0 ? 'run scripts/setup-test-host.sh as root' : undefined),
);

describe.skipIf(skip !== undefined)('@rest with sudo_password in host data', () => {
  let staged: StagedPackages | undefined;
  let agent: AgentFixture | undefined;

  beforeAll(async () => {
    const here = dirname(fileURLToPath(import.meta.url));
    staged = await stagePackages(['@infra/agent'], { from: here });
    agent = await startAgent({
      binPath: join(staged.packageDir('@infra/agent'), 'dist', 'bin.js'),
      resourceId: 'sudo-password-host',
      user: TEST_USERS.sudoPassword.name,
    });
  });

  afterAll(async () => {
    await agent?.stop();
    await staged?.remove();
  });

  describeSudoPasswordFromHostData(() => {
    if (!agent) throw new Error('the agent fixture did not start');
    return connectRest({
      api_url: agent.url,
      api_key: agent.token,
      api_resource_id: agent.resourceId,
      sudo_password: TEST_USERS.sudoPassword.password,
    });
  });
});
