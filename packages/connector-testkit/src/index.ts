export {
  AWKWARD_FILE_NAMES,
  allByteValues,
  type BecomeMethod,
  type ConformanceCapabilities,
  type ConformanceOptions,
  describeConnector,
} from './conformance.js';
export { describeSudoPasswordFromHostData } from './file-safety-conformance.js';
export {
  type AgentFixture,
  type AgentFixtureOptions,
  agentMissingReason,
  resolveAgentBin,
  startAgent,
} from './fixtures/agent.js';
export {
  type BusyboxRoot,
  busyboxRootMissingReason,
  makeBusyboxRoot,
} from './fixtures/busybox-root.js';
export {
  buildDebianImage,
  type DebianImage,
  type DebianImageOptions,
  debianImageMissingReason,
  debianRootfsTar,
  testCacheDir,
} from './fixtures/debian-image.js';
export {
  type BusyboxImageOptions,
  type BusyboxImages,
  buildBusyboxImage,
  buildBusyboxImages,
  type DockerApiResponse,
  type DockerdFixture,
  dockerApi,
  dockerdGlobalSetup,
  dockerdMissingReason,
  type ProvidedDockerd,
  startDockerd,
  type TestDockerd,
  useDockerd,
} from './fixtures/dockerd.js';
export {
  type PodmanServiceFixture,
  podmanMissingReason,
  startPodmanService,
  usePodmanService,
} from './fixtures/podman.js';
export { shareUnixSocket } from './fixtures/socket-access.js';
export {
  freeLoopbackPort,
  type SshAgentFixture,
  type SshdFixture,
  type SshdOptions,
  type SshKeyPair,
  sshdMissingReason,
  startSshAgent,
  startSshd,
} from './fixtures/sshd.js';
export {
  describeInventoryConnector,
  type InventoryCase,
  type InventoryConformanceOptions,
  inventoryProblems,
} from './inventory-conformance.js';
export { isCI, notRootReason, PeerUnavailableError, peerMissing } from './peer.js';
export { type ProcessScanner, type ProcessScanResult, processScanner } from './process-scan.js';
export {
  type StagedPackages,
  type StagePackagesOptions,
  stagePackages,
} from './staged-packages.js';
export { createTestHost, RecordingLogger, type TestHostOptions } from './test-host.js';
export { missingTestUsers, TEST_USERS, type TestUser, userExists } from './test-users.js';
