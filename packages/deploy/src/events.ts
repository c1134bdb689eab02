import type { OutputStream } from '@infra/core';
import type { OperationResult } from './operation.js';

export type RunPhase = 'connect' | 'plan' | 'execute' | 'disconnect';

export interface ErrorInfo {
  readonly code: string;
  readonly message: string;
}

/** What a run reports as it goes; the CLI prints them as text or NDJSON. */
export type RunEvent =
  | { readonly type: 'phase'; readonly phase: RunPhase }
  | {
      readonly type: 'connect';
      readonly host: string;
      readonly success: boolean;
      readonly error?: ErrorInfo;
    }
  | {
      readonly type: 'operation';
      readonly phase: 'plan' | 'execute';
      readonly result: OperationResult;
    }
  | {
      readonly type: 'command';
      readonly host: string;
      /** The operation's type (`server.shell`), or `fact NAME`. */
      readonly operation: string;
      /** The operation's name as the deploy gave it (`name:`) or its label; the type when it has neither. */
      readonly name: string;
      /** The full command line as sent, secrets masked. */
      readonly command: string;
    }
  | {
      readonly type: 'output';
      readonly host: string;
      readonly operation: string;
      readonly stream: OutputStream;
      readonly line: string;
    }
  | {
      readonly type: 'host-failed';
      readonly host: string;
      readonly phase: RunPhase;
      readonly error: ErrorInfo;
    }
  | { readonly type: 'stopped'; readonly reason: string };
