export { type AppEnvData, appEnv } from './app-env-deploy.js';
export { type EnvfileArgs, envfileValuesFact, parseEnvfile } from './envfile-fact.js';
export { type EnvfileSetArgs, envfileSetOperation, renderEnvfile } from './envfile-operation.js';
