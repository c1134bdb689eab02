import { OperationArgumentError } from '../errors.js';
import { whichFact } from '../facts/systemd-facts.js';
import { defineOperation } from '../operation.js';
import { listOf } from './attributes.js';
import {
  apkPackagesOperation,
  aptPackagesOperation,
  dnfPackagesOperation,
  type PackagesArgs,
} from './package-operations.js';

/** Which package manager operation a host's commands call for, in pyinfra's order. */
const MANAGERS = [
  { command: 'apk', operation: apkPackagesOperation },
  { command: 'apt-get', operation: aptPackagesOperation },
  { command: 'dnf', operation: dnfPackagesOperation },
] as const;

export const serverPackagesOperation = defineOperation<PackagesArgs, 'server.packages'>({
  name: 'server.packages',
  argNames: ['packages', 'present', 'latest', 'update'],
  description:
    'Install, upgrade (latest) or remove packages with the package manager the host has: apk, apt (apt-get) or dnf, found in that order (server.which).',
  label: (args) => `server.packages ${listOf(args.packages).join(' ') || '(update)'}`,
  plan: async (context, args) => {
    for (const manager of MANAGERS) {
      if (await context.fact(whichFact, { command: manager.command })) {
        return manager.operation.plan(context, args);
      }
    }
    throw new OperationArgumentError(
      'server.packages',
      `no package manager found on ${context.host}: expected apk, apt-get or dnf on the PATH.`,
    );
  },
});
