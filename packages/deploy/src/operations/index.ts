import type { HostSession } from '../host-session.js';
import type { GlobalArguments, OperationResult, OperationSpec } from '../operation.js';
import { downloadOperation } from './download-operation.js';
import {
  directoryOperation,
  fileOperation,
  getOperation,
  lineOperation,
  linkOperation,
  putOperation,
  templateOperation,
} from './files-operations.js';
import {
  openrcServiceOperation,
  serverServiceOperation,
  sysvinitServiceOperation,
} from './init-service-operations.js';
import { npmPackagesOperation } from './npm-operations.js';
import {
  apkPackagesOperation,
  aptPackagesOperation,
  dnfPackagesOperation,
} from './package-operations.js';
import { pipPackagesOperation, venvOperation, virtualenvOperation } from './pip-operations.js';
import { rebootOperation, waitOperation } from './reboot-operations.js';
import { scriptTemplateOperation } from './script-template-operation.js';
import { hostnameOperation, scriptOperation, shellOperation } from './server-operations.js';
import { serverPackagesOperation } from './server-packages-operation.js';
import { serviceOperation } from './systemd-operations.js';
import { groupOperation, userOperation } from './user-operations.js';

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
      user: bind(session, userOperation),
      group: bind(session, groupOperation),
      reboot: bind(session, rebootOperation),
      wait: bind(session, waitOperation),
      scriptTemplate: bind(session, scriptTemplateOperation),
      packages: bind(session, serverPackagesOperation),
      service: bind(session, serverServiceOperation),
    },
    files: {
      put: bind(session, putOperation),
      get: bind(session, getOperation),
      template: bind(session, templateOperation),
      directory: bind(session, directoryOperation),
      file: bind(session, fileOperation),
      link: bind(session, linkOperation),
      line: bind(session, lineOperation),
      download: bind(session, downloadOperation),
    },
    apt: { packages: bind(session, aptPackagesOperation) },
    apk: { packages: bind(session, apkPackagesOperation) },
    dnf: { packages: bind(session, dnfPackagesOperation) },
    systemd: { service: bind(session, serviceOperation) },
    openrc: { service: bind(session, openrcServiceOperation) },
    sysvinit: { service: bind(session, sysvinitServiceOperation) },
    pip: {
      venv: bind(session, venvOperation),
      virtualenv: bind(session, virtualenvOperation),
      packages: bind(session, pipPackagesOperation),
    },
    npm: { packages: bind(session, npmPackagesOperation) },
  };
}

export type Operations = ReturnType<typeof createOperations>;

/** Every operation by name, for ad hoc runs (`infra INVENTORY files.put src=a dest=b`). */
export const OPERATIONS: Readonly<Record<string, OperationSpec<never>>> = Object.fromEntries(
  [
    shellOperation,
    scriptOperation,
    hostnameOperation,
    userOperation,
    groupOperation,
    putOperation,
    getOperation,
    templateOperation,
    directoryOperation,
    fileOperation,
    linkOperation,
    lineOperation,
    downloadOperation,
    aptPackagesOperation,
    apkPackagesOperation,
    dnfPackagesOperation,
    serviceOperation,
    rebootOperation,
    waitOperation,
    scriptTemplateOperation,
    serverPackagesOperation,
    serverServiceOperation,
    openrcServiceOperation,
    sysvinitServiceOperation,
    venvOperation,
    virtualenvOperation,
    pipPackagesOperation,
    npmPackagesOperation,
  ].map((spec) => [spec.name, spec as OperationSpec<never>]),
);

export { type ModeInput, parseMode } from './attributes.js';
export * from './download-operation.js';
export * from './files-operations.js';
export * from './init-service-operations.js';
export * from './npm-operations.js';
export * from './package-operations.js';
export * from './pip-operations.js';
export * from './reboot-operations.js';
export * from './script-template-operation.js';
export * from './server-operations.js';
export * from './server-packages-operation.js';
export * from './systemd-operations.js';
export { renderTemplate, type TemplateSource } from './template-render.js';
export * from './user-operations.js';
