// Run by the e2e test as the test user whose sudo asks for a password
// (`runuser -u infra-sudopw -- node run-as-sudopw.mjs PASSWORD`): the connector's
// sudo retry must ask the run's password source, once per run, and get root.
// The test copies this file and the packages it imports out of the clone first
// (stagePackages), so it imports them by name.
import { LocalConnector } from '@infra/connector-local';
import { MaskString } from '@infra/core';

const password = process.argv[2];
let asked = 0;
const connector = new LocalConnector({
  name: '@local',
  data: {},
  hostData: {},
  log: { debug() {}, info() {}, warn() {} },
  sudoPassword: {
    async get() {
      asked++;
      return new MaskString(password);
    },
  },
});
await connector.connect();
const first = await connector.runShellCommand('id -un', { sudo: true });
const withoutSudo = await connector.runShellCommand('id -un');
await connector.disconnect();
process.stdout.write(
  JSON.stringify({
    asked,
    first: { success: first.success, stdout: first.output.stdout, stderr: first.output.stderr },
    withoutSudo: withoutSudo.output.stdout,
  }),
);
