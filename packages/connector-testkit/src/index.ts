export {
  AWKWARD_FILE_NAMES,
  allByteValues,
  type BecomeMethod,
  type ConformanceCapabilities,
  type ConformanceOptions,
  describeConnector,
} from './conformance.js';
export { isCI, notRootReason, PeerUnavailableError, peerMissing } from './peer.js';
export { createTestHost, RecordingLogger, type TestHostOptions } from './test-host.js';
export { missingTestUsers, TEST_USERS, type TestUser, userExists } from './test-users.js';
