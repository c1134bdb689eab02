// Run by the e2e test as the test user whose sudo asks for a password
// (`runuser -u infra-sudopw -- node run-as-sudopw.mjs PASSWORD`): the connector's
// sudo retry must ask the run's password source, once per run, and get root.
// With `host-data` after the password, the password is `sudo_password` in host data
// instead and the run has none to give: sudo must work from host data alone.
// The test copies this file and the packages it imports out of the clone first
// (stagePackages), so it imports them by name.
import { LocalConnector } from '@infra/connector-local';
import { MaskString } from '@infra/core';

const password = process.argv[2];
const fromHostData = process.argv[3] === 'host-data';
let asked = 0;
const connector = new LocalConnector({
  name: '@local',
  data: {},
  hostData: fromHostData ? { sudo_password: new MaskString(password) } : {},
  log: { debug() {}, info() {}, warn() {} },
  sudoPassword: {
    async get() {
      asked++;
      if (fromHostData) throw new Error('the run was asked for a password');
      return new MaskString(password);
    },
  },
});
await connector.connect();
const first = await connector.runShellCommand('id -un', { sudo: true });
const withoutSudo = await connector.runShellCommand('id -un');
let fileOwner;
if (fromHostData) {
  // A file put as root (sudo) through the shared become put, then read back as root.
  const dir = (await connector.runShellCommand('mktemp -d', { sudo: true })).output.stdout;
  await connector.putFile(Buffer.from('as root'), `${dir}/f`, { sudo: true });
  const listed = await connector.runShellCommand(`stat -c %U ${dir}/f; cat ${dir}/f`, {
    sudo: true,
  });
  fileOwner = listed.output.stdout;
  await connector.runShellCommand(`rm -rf ${dir}`, { sudo: true });
}
await connector.disconnect();
process.stdout.write(
  JSON.stringify({
    asked,
    first: { success: first.success, stdout: first.output.stdout, stderr: first.output.stderr },
    withoutSudo: withoutSudo.output.stdout,
    fileOwner,
  }),
);
