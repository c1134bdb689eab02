import { NsenterConnector } from './nsenter-connector.js';

export { NSENTER_DATA_META, NsenterConnector } from './nsenter-connector.js';
export default NsenterConnector;
