export { isCI, notRootReason, PeerUnavailableError, peerMissing } from './peer.js';
export { missingTestUsers, TEST_USERS, type TestUser, userExists } from './test-users.js';
