import { SshConnector } from './ssh-connector.js';

export { ChannelLimiter } from './channel-limiter.js';
export {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  HostKeyChangedError,
  HostKeyRejectedError,
  type KnownHostsEntry,
  knownHostsName,
  parseKnownHosts,
  type StrictHostKeyChecking,
} from './known-hosts.js';
export { SshAuthError } from './ssh-auth.js';
export {
  listSshConfigHosts,
  readSshConfig,
  SshConfigError,
  type SshConfigHostEntry,
  type SshConfigLookup,
  type SshHostConfig,
} from './ssh-config.js';
export {
  parseSshConfigPattern,
  SSH_CONFIG_FILE_ENV,
  SshConfigInventoryConnector,
  sshConfigInventoryFile,
} from './ssh-config-inventory.js';
export { SshConnectionLostError } from './ssh-connection.js';
export { SshConnector } from './ssh-connector.js';
export { SSH_DATA_META, type SshData } from './ssh-data.js';
export { type HostSpec, parseHostSpec } from './ssh-settings.js';

export default SshConnector;
