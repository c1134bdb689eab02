import type { Connector, ConnectorLogger, SecretPrompt, SudoPasswordSource } from '@infra/core';
import { createHostConnectors, type InventoryHost } from '@infra/deploy/inventory';
import type { Reporter } from './reporter.js';

/** A host's connector logs through the reporter, prefixed with the host. */
export function hostLogger(reporter: Reporter, host: string): ConnectorLogger {
  return {
    debug: (message) => reporter.log('debug', host, message),
    info: (message) => reporter.log('info', host, message),
    notice: (message) => reporter.log('notice', host, message),
    warn: (message) => reporter.log('warn', host, message),
  };
}

/**
 * The CLI's one place where hosts become connectors (exec, deploy, facts, ops):
 * `@infra/deploy`'s `createHostConnectors`, logging through the reporter. Hosts
 * that run through another (`via=`) share its connection.
 */
export function connectorsFor(
  hosts: readonly InventoryHost[],
  reporter: Reporter,
  sudoPassword: SudoPasswordSource,
  prompt: SecretPrompt | undefined,
): Connector[] {
  return createHostConnectors(hosts, {
    logFor: (name) => hostLogger(reporter, name),
    sudoPassword,
    prompt,
  });
}
