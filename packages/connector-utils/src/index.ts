export {
  becomeKillArguments,
  makeRunTagKillScript,
  needsBecomeKill,
  newRunTag,
  RUN_TAG_ENV,
  withRunTag,
} from './become-stop.js';
export {
  type InstallScriptOptions,
  isInfraTempName,
  makeInstallScript,
  makeReadScript,
  makeRemoveScript,
  octalMode,
  tempPathBeside,
} from './file-scripts.js';
export { type GlobOptions, globToRegExp, matchGlob } from './glob.js';
export {
  defaultFileMode,
  describeFsError,
  type LocalDestination,
  openLocalDestination,
  writeLocalFile,
} from './local-destination.js';
export {
  killProcessGroup,
  type LocalProcessOptions,
  ProcessGroups,
  runLocalProcess,
} from './local-process.js';
export { type LocalTransportOptions, runRawLocally } from './local-transport.js';
export { randomHex } from './random-hex.js';
export { type RunOnceOptions, runCommandOnce } from './raw-command.js';
export {
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY,
  type RetryOptions,
  type RetryReason,
  runWithRetries,
  withRetries,
} from './retries.js';
export {
  fileFailure,
  getFileThroughShell,
  putFileThroughShell,
  runFileScript,
  type ShellFilesContext,
} from './shell-files.js';
export {
  becomeArguments,
  describeBecome,
  makeShellInvocation,
  usesBecome,
} from './shell-invocation.js';
export {
  runWithSudoRetry,
  SUDO_PASSWORD_DATA_KEY,
  SUDO_PASSWORD_DATA_META,
  sudoNeedsPassword,
  sudoPasswordSourceFor,
} from './sudo-retry.js';
export {
  runStoppable,
  type StopOptions,
  settlesWithin,
  sleep,
  timeoutSignal,
  untilAborted,
} from './timing.js';
export type { RawCommand, RawCommandIo, RawExit, RunRaw } from './transport.js';
export { TransportConnector } from './transport-connector.js';
export { type Wrapper, wrapRawCommand } from './wrapped-command.js';
export { WrappingConnector } from './wrapping-connector.js';
