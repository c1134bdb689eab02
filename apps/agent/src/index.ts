export {
  AGENT_HELP,
  type AgentOptions,
  AgentUsageError,
  DEFAULT_LISTEN,
  isLoopback,
  type ParsedArgs,
  parseAgentArgs,
  parseListen,
  parseSize,
  TOKEN_ENV,
} from './agent-options.js';
export { type AgentConfig, type AgentLog, AgentServer } from './agent-server.js';
export { loadAgentConfig, type MainIo, main } from './main.js';
export { AGENT_EXTENSIONS, AGENT_VERSION, resourceDocument } from './resource-document.js';
