import { LocalConnector } from './local-connector.js';

export { LOCAL_DATA_META, LocalConnector, type LocalConnectorData } from './local-connector.js';
export default LocalConnector;
