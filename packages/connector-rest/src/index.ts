import { RestConnector } from './rest-connector.js';

export { RestConnector };
export default RestConnector;
export { type ExtensionKey, KNOWN_EXTENSIONS } from './protocol.js';
export { REST_DATA_META, type RestConnectorData } from './rest-data.js';
export { type RestErrorCode, RestRequestError } from './rest-errors.js';
