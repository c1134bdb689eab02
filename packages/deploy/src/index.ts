export { mapBounded } from './bounded-parallel.js';
export { closestName, editDistance } from './closest-name.js';
export {
  type Deploy,
  type DeployFunction,
  type DeployOptions,
  deploy,
  isDeploy,
  type LoadedDeploy,
  loadDeployFiles,
} from './deploy-api.js';
export { type DeployContext, deployContext } from './deploy-context.js';
export {
  DeployFileError,
  errorMessage,
  FactError,
  OperationArgumentError,
  OperationError,
  RunStoppedError,
  UnknownNameError,
} from './errors.js';
export type { ErrorInfo, RunEvent, RunPhase } from './events.js';
export * from './facts/index.js';
export { type ConnectorServices, createHostConnectors } from './host-connectors.js';
export {
  type DataOverride,
  dataValueFor,
  hostDataFor,
  maskedData,
  mergeDataLayers,
  type SecretSink,
} from './host-data.js';
export { failHostOfStrayError, StrayDeployError } from './host-scope.js';
export { type DeployHost, HostSession, type HostSessionOptions } from './host-session.js';
export {
  type InventoryDefinition,
  type InventoryGroup,
  type InventoryHost,
  type InventoryHostEntry,
  type InventoryLoadOptions,
  inventory,
  isInventoryFile,
  limitHosts,
  loadInventory,
  type PlannedHost,
  planInventory,
  planInventorySource,
  readInventoryFile,
  resolveHosts,
  splitInventory,
} from './inventory.js';
export type { InventoryView, InventoryViewHost } from './inventory-view.js';
export {
  checkArgumentNames,
  connectorArgumentsOf,
  defineOperation,
  GLOBAL_ARGUMENT_NAMES,
  type GlobalArguments,
  isOperationSpec,
  type OperationPlan,
  type OperationResult,
  type OperationSpec,
  type OperationStatus,
  type OperationStep,
  type PlanContext,
  type StepContext,
} from './operation.js';
export * from './operations/index.js';
export { RunCoordinator } from './run-coordinator.js';
export {
  type HostTask,
  type ResultsRow,
  type RunHost,
  type RunOptions,
  type RunOutcome,
  resultsTable,
  runHosts,
} from './runner.js';
export { lineDiff } from './text-diff.js';
export { type ViaHost, viaChainOf } from './via-hosts.js';
