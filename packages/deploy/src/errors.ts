import { InfraError } from '@infra/core';
import { closestName } from './closest-name.js';

/** A deploy file that cannot be loaded or does not export a deploy. */
export class DeployFileError extends InfraError {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('DEPLOY_FILE_INVALID', `Deploy file ${file}: ${message}`, options);
    this.file = file;
  }
}

/** Operation arguments that cannot work (a missing `dest`, a bad mode, ...). Nothing ran. */
export class OperationArgumentError extends InfraError {
  constructor(operation: string, message: string) {
    super('OPERATION_ARGUMENT_INVALID', `${operation}: ${message}`);
  }
}

/** An operation that ran and failed on a host: a command's exit code, a file transfer, a fact. */
export class OperationError extends InfraError {
  readonly host: string;
  readonly operation: string;

  constructor(host: string, operation: string, message: string, options?: { cause?: unknown }) {
    super('OPERATION_FAILED', `${operation} failed on ${host}: ${message}`, options);
    this.host = host;
    this.operation = operation;
  }
}

/** A fact whose command failed or whose output could not be read. */
export class FactError extends InfraError {
  constructor(fact: string, host: string, message: string) {
    super('FACT_FAILED', `Fact ${fact} on ${host}: ${message}`);
  }
}

/**
 * An unknown fact or operation name (on the command line, or `ops.files.dirctory`
 * in a deploy): names the closest known one.
 */
export class UnknownNameError extends InfraError {
  readonly suggestion: string | undefined;

  constructor(
    kind: 'fact' | 'operation' | 'operation group' | 'fact group',
    name: string,
    known: readonly string[],
  ) {
    const near = closestName(name, known);
    super(
      'USAGE',
      `No ${kind} ${name}${near ? `; did you mean ${near}?` : '.'} Known: ${known.join(', ')}.`,
    );
    this.suggestion = near;
  }
}

/**
 * The run was stopped (Ctrl-C, or --fail-percent reached): no new work starts;
 * with `killed`, a running command was killed (a hard stop).
 */
export class RunStoppedError extends InfraError {
  constructor(reason: string, options: { killed?: boolean } = {}) {
    super('RUN_STOPPED', `${options.killed ? 'Killed' : 'Not started'}: ${reason}.`);
  }
}

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'INTERNAL';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
