import { InfraError } from '@infra/core';

/** A command line the CLI cannot understand: exit code 2, message names the flag and what was expected. */
export class UsageError extends InfraError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
