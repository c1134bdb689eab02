// The testkit's conformance suite on @nsenter: in a process with a UTS namespace of its
// own, on this machine, and again with `via=@local`, which WrappingConnector gives for free.

import { LocalConnector } from '@infra/connector-local';
import {
  createTestHost,
  describeConnector,
  peerMissing,
  TEST_USERS,
} from '@infra/connector-testkit';
import { buildConnectorData, type Connector } from '@infra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NSENTER_DATA_META, NsenterConnector } from '../src/index.js';
import {
  type NamespacedProcess,
  namespacedProcessMissingReason,
  startNamespacedProcess,
} from './namespaced-process.js';

const skip = peerMissing('nsenter into a process', namespacedProcessMissingReason());
let target: NamespacedProcess | undefined;
const local = new LocalConnector(createTestHost({ name: '@local' }));

beforeAll(async () => {
  if (skip !== undefined) return;
  target = await startNamespacedProcess('infra-nsenter');
  await local.connect();
});
afterAll(async () => {
  await local.disconnect();
  await target?.stop();
});

function connectorFor(pid: number, via?: { name: string; connector: Connector }) {
  const [name, hostData] = NsenterConnector.makeNamesData(String(pid))[0]!;
  const data = buildConnectorData('nsenter', NSENTER_DATA_META, hostData);
  return new NsenterConnector(createTestHost({ name, hostData, data, ...(via ? { via } : {}) }));
}

const capabilities = { become: ['sudo', 'su'], becomeUser: TEST_USERS.plain.name } as const;

for (const via of [undefined, { name: '@local', connector: local }]) {
  describeConnector({
    name: via ? 'nsenter via @local' : 'nsenter',
    skip,
    async connect() {
      const connector = connectorFor(target!.pid, via);
      await connector.connect();
      return connector;
    },
    capabilities,
    connectFailure: {
      connect: () => connectorFor(999_999_999, via).connect(),
      message: /there is no process 999999999 on (this machine|@local)/,
    },
  });
}

describe.skipIf(skip !== undefined)('@nsenter', () => {
  it('runs in the namespaces of the process, here and via @local', async () => {
    for (const via of [undefined, { name: '@local', connector: local }]) {
      const connector = connectorFor(target!.pid, via);
      await connector.connect();
      const result = await connector.runShellCommand('hostname');
      await connector.disconnect();
      expect(result.output.stdout).toBe('infra-nsenter');
    }
  });
});
