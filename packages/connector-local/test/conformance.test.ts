import { createTestHost, describeConnector, peerMissing } from '@infra/connector-testkit';
import { LocalConnector } from '../src/index.js';
import { becomeMissingReason } from './become-peer.js';

describeConnector({
  name: 'local',
  async connect() {
    const connector = new LocalConnector(createTestHost({ name: '@local' }));
    await connector.connect();
    return connector;
  },
  capabilities: peerMissing('sudo / su / doas as root', becomeMissingReason())
    ? {}
    : { become: ['sudo', 'su', 'doas'] },
});
