import {
  type Connector,
  type ConnectorHost,
  type ConnectorLogger,
  noSudoPassword,
  type SudoPasswordSource,
} from '@infra/core';

/** A logger that keeps every message, so tests can look at what a connector said. */
export class RecordingLogger implements ConnectorLogger {
  readonly messages: { level: 'debug' | 'info' | 'notice' | 'warn'; message: string }[] = [];

  debug(message: string): void {
    this.messages.push({ level: 'debug', message });
  }

  info(message: string): void {
    this.messages.push({ level: 'info', message });
  }

  notice(message: string): void {
    this.messages.push({ level: 'notice', message });
  }

  warn(message: string): void {
    this.messages.push({ level: 'warn', message });
  }

  /** Every message as one string, for `not.toContain(secret)` checks. */
  text(): string {
    return this.messages.map((entry) => entry.message).join('\n');
  }
}

export interface TestHostOptions<TData> {
  /** The inventory name (default `@test`). */
  name?: string;
  /** The connector's typed data (build it with `buildConnectorData` to test validation). */
  data?: TData;
  hostData?: Record<string, unknown>;
  /** Default: a source that never asks and fails with `SudoPasswordError`. */
  sudoPassword?: SudoPasswordSource;
  log?: ConnectorLogger;
  /** The connected host this one runs through (`ConnectorHost.via`), and its name. */
  via?: { readonly name: string; readonly connector: Connector };
}

/** The `ConnectorHost` a connector is constructed with in tests. */
export function createTestHost<TData = Record<string, unknown>>(
  options: TestHostOptions<TData> = {},
): ConnectorHost<TData> & { log: ConnectorLogger } {
  return {
    name: options.name ?? '@test',
    data: options.data ?? ({} as TData),
    hostData: options.hostData ?? {},
    log: options.log ?? new RecordingLogger(),
    sudoPassword: options.sudoPassword ?? noSudoPassword,
    ...(options.via ? { via: options.via.connector, viaName: options.via.name } : {}),
  };
}
