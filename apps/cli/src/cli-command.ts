import type { DataOverride } from './data-value.js';

/** How much the CLI says and in what form; every command takes these. */
export interface OutputOptions {
  /** 0 by default, 1 with `-v`, 2 with `-vv`. */
  readonly verbosity: number;
  readonly debug: boolean;
  readonly json: boolean;
}

/** The options of `infra INVENTORY exec`, pyinfra's names. */
export interface ExecOptions extends OutputOptions {
  readonly sudo: boolean;
  readonly sudoUser: string | undefined;
  readonly useSudoPassword: boolean;
  readonly suUser: string | undefined;
  readonly doas: boolean;
  readonly doasUser: string | undefined;
  readonly shellExecutable: string | undefined;
  readonly chdir: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly data: Readonly<Record<string, DataOverride>>;
  /** How many hosts run at once; undefined means all of them. */
  readonly parallel: number | undefined;
  /** Groups or host-name globs to run on (repeatable). */
  readonly limit: readonly string[];
}

/** The options of deploys, ad hoc operations, facts and debug-inventory (pyinfra's names). */
export interface DeployOptions extends ExecOptions {
  /** `-y`/`--yes`: apply the changes without asking. */
  readonly yes: boolean;
  /** Stop after showing what would change. */
  readonly dry: boolean;
  /** Show file content changes. */
  readonly diff: boolean;
  /** One host at a time. */
  readonly serial: boolean;
  /** Stop the run once more than this percentage of hosts has failed. */
  readonly failPercent: number | undefined;
}

export type HelpTopic = 'general' | 'exec' | 'connectors' | 'deploy';

export type CliCommand =
  | { readonly kind: 'help'; readonly topic: HelpTopic }
  | { readonly kind: 'version' }
  | { readonly kind: 'connectors'; readonly options: OutputOptions }
  | {
      readonly kind: 'check';
      /** Deploy and inventory files to type-check. */
      readonly files: readonly string[];
      readonly options: OutputOptions;
    }
  | {
      readonly kind: 'exec';
      readonly inventory: string;
      /** The words after `--`, each to be quoted on its own. */
      readonly command: readonly string[];
      readonly options: ExecOptions;
    }
  | {
      readonly kind: 'deploy';
      readonly inventory: string;
      /** Deploy files, run in order. */
      readonly files: readonly string[];
      readonly options: DeployOptions;
    }
  | {
      readonly kind: 'operation';
      readonly inventory: string;
      /** e.g. files.put */
      readonly operation: string;
      readonly args: Readonly<Record<string, string | boolean>>;
      readonly options: DeployOptions;
    }
  | {
      readonly kind: 'fact';
      readonly inventory: string;
      readonly fact: string;
      readonly args: Readonly<Record<string, string | boolean>>;
      readonly options: DeployOptions;
    }
  | {
      readonly kind: 'debug-inventory';
      readonly inventory: string;
      readonly options: DeployOptions;
    };
