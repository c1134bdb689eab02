/**
 * Every error infra throws on purpose is an `InfraError`: it has a stable `code`
 * (for machines and `--json`) and a message that says what to do about it.
 * Messages never hold secrets: build them from masked command strings only.
 */
export class InfraError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A connection string or inventory entry that cannot be understood. */
export class InventoryError extends InfraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVENTORY_INVALID', message, options);
  }
}

/** A connector data key whose value has the wrong type or is missing. */
export class ConnectorDataError extends InfraError {
  readonly key: string;

  constructor(key: string, message: string) {
    super('CONNECTOR_DATA_INVALID', message);
    this.key = key;
  }
}

/** `connect()` failed: the message gives the reason and what to check. */
export class ConnectError extends InfraError {
  readonly host: string;

  constructor(host: string, reason: string, options?: { cause?: unknown }) {
    super('CONNECT_FAILED', `Could not connect to ${host}: ${reason}`, options);
    this.host = host;
  }
}

/** A command ran past its `timeout` and was killed. */
export class CommandTimeoutError extends InfraError {
  readonly command: string;
  readonly timeoutSeconds: number;

  constructor(command: string, timeoutSeconds: number) {
    super(
      'COMMAND_TIMEOUT',
      `Command timed out after ${timeoutSeconds}s and was killed: ${command}`,
    );
    this.command = command;
    this.timeoutSeconds = timeoutSeconds;
  }
}

/** A value that cannot be put in a shell command at all (a NUL byte). */
export class QuoteError extends InfraError {
  constructor(message: string) {
    super('QUOTE_INVALID', message);
  }
}

/** sudo needs a password and none can be had (no TTY, no INFRA_SUDO_PASSWORD). */
export class SudoPasswordError extends InfraError {
  constructor(message: string) {
    super('SUDO_PASSWORD_REQUIRED', message);
  }
}

/** `putFile` / `getFile` failed; the message names both ends. */
export class FileTransferError extends InfraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('FILE_TRANSFER_FAILED', message, options);
  }
}

/** An inventory names a connector that is not installed. */
export class ConnectorNotFoundError extends InfraError {
  readonly connectorName: string;

  constructor(connectorName: string, message: string) {
    super('CONNECTOR_NOT_FOUND', message);
    this.connectorName = connectorName;
  }
}

/** An installed connector does not implement this version of the contract. */
export class ConnectorSpecError extends InfraError {
  constructor(message: string) {
    super('CONNECTOR_SPEC_MISMATCH', message);
  }
}

/** A connector was used in a way it does not support (e.g. exec before connect). */
export class ConnectorStateError extends InfraError {
  constructor(message: string) {
    super('CONNECTOR_STATE', message);
  }
}
