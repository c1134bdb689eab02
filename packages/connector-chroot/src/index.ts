import { ChrootConnector } from './chroot-connector.js';

export { CHROOT_DATA_META, ChrootConnector, type ChrootConnectorData } from './chroot-connector.js';
export default ChrootConnector;
