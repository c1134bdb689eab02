import type { HostSession } from '../host-session.js';
import type { GlobalArguments, OperationResult, OperationSpec } from '../operation.js';
import {
  directoryOperation,
  fileOperation,
  getOperation,
  lineOperation,
  linkOperation,
  putOperation,
  templateOperation,
} from './files-operations.js';
import { hostnameOperation, scriptOperation, shellOperation } from './server-operations.js';

/** An operation bound to a host: call it with its arguments and the global ones. */
export type BoundOperation<TArgs> = (args: TArgs & GlobalArguments) => Promise<OperationResult>;

function bind<TArgs extends object>(
  session: HostSession,
  spec: OperationSpec<TArgs>,
): BoundOperation<TArgs> {
  return (args) => session.execute(spec, args);
}

/** The operations a deploy calls, bound to one host: `ops.files.put({ src, dest })`. */
export function createOperations(session: HostSession) {
  return {
    server: {
      shell: bind(session, shellOperation),
      script: bind(session, scriptOperation),
      hostname: bind(session, hostnameOperation),
    },
    files: {
      put: bind(session, putOperation),
      get: bind(session, getOperation),
      template: bind(session, templateOperation),
      directory: bind(session, directoryOperation),
      file: bind(session, fileOperation),
      link: bind(session, linkOperation),
      line: bind(session, lineOperation),
    },
  };
}

export type Operations = ReturnType<typeof createOperations>;

/** Every operation by name, for ad hoc runs (`infra INVENTORY files.put src=a dest=b`). */
export const OPERATIONS: Readonly<Record<string, OperationSpec<never>>> = Object.fromEntries(
  [
    shellOperation,
    scriptOperation,
    hostnameOperation,
    putOperation,
    getOperation,
    templateOperation,
    directoryOperation,
    fileOperation,
    linkOperation,
    lineOperation,
  ].map((spec) => [spec.name, spec as OperationSpec<never>]),
);

export { type ModeInput, parseMode } from './attributes.js';
export * from './files-operations.js';
export * from './server-operations.js';
