import {
  type AgentFixture,
  agentMissingReason,
  describeConnector,
  missingTestUsers,
  notRootReason,
  peerMissing,
  startAgent,
} from '@infra/connector-testkit';
import { afterAll, beforeAll } from 'vitest';
import { connectRest } from './rest-host.js';

const missingUsers = missingTestUsers();
const skip = peerMissing(
  'infra-agent (REST conformance)',
  agentMissingReason() ??
    notRootReason() ??
    (missingUsers.length > 0
      ? `test users ${missingUsers.join(', ')} are missing: run scripts/setup-test-host.sh`
      : undefined),
);

let agent: AgentFixture | undefined;

beforeAll(async () => {
  if (!skip) agent = await startAgent({ resourceId: 'conformance-host' });
});

afterAll(async () => {
  await agent?.stop();
});

const hostData = () => {
  if (!agent) throw new Error('the agent fixture did not start');
  return { api_url: agent.url, api_key: agent.token, api_resource_id: agent.resourceId };
};

describeConnector({
  name: 'rest (real infra-agent on loopback)',
  skip,
  connect: () => connectRest(hostData()),
  capabilities: { become: ['sudo', 'su', 'doas'] },
  connectFailure: {
    connect: () => connectRest({ ...hostData(), api_key: 'not-the-token' }),
    message: /API key was refused \(401 Unauthorized\)/,
  },
});
