import type { DeployContext } from './deploy-context.js';
import { DeployFileError } from './errors.js';

/** What a deploy function is given: the context for one host, and the arguments it was run with. */
export type DeployFunction<
  TData extends Record<string, unknown> = Record<string, unknown>,
  TArgs = Record<string, unknown>,
> = (context: DeployContext<TData>, args: TArgs) => Promise<void> | void;

const DEPLOY_BRAND = Symbol.for('@infra/deploy.deploy');

/**
 * A deploy: the default export of a deploy file, and also a reusable group of
 * operations (pyinfra's `@deploy`): another deploy runs it with
 * `run(nginx, { _sudo: true, port: 8080 })`, its operations then get the global
 * arguments given there and its `defaults` under the host's data.
 */
export interface Deploy<
  TData extends Record<string, unknown> = Record<string, unknown>,
  TArgs = Record<string, unknown>,
> {
  readonly [DEPLOY_BRAND]: true;
  /** Shown in output; the file name when not given. */
  readonly name: string | undefined;
  /** Data under everything else: deploy defaults < all < groups < host < `--data`. */
  readonly defaults: Readonly<Partial<TData>>;
  readonly run: (context: DeployContext<TData>, args?: TArgs) => Promise<void> | void;
}

export interface DeployOptions<TData extends Record<string, unknown>> {
  name?: string;
  defaults?: Partial<TData>;
}

/**
 * Declare a deploy: `export default deploy(async ({ host, ops, facts }) => { ... })`,
 * or `deploy({ name, defaults }, fn)`. Operations are awaited in order; each
 * returns its result (changed, outputs) for the next line to use.
 */
export function deploy<
  TData extends Record<string, unknown> = Record<string, unknown>,
  TArgs = Record<string, unknown>,
>(fn: DeployFunction<TData, TArgs>): Deploy<TData, TArgs>;
export function deploy<
  TData extends Record<string, unknown> = Record<string, unknown>,
  TArgs = Record<string, unknown>,
>(options: DeployOptions<TData>, fn: DeployFunction<TData, TArgs>): Deploy<TData, TArgs>;
export function deploy<TData extends Record<string, unknown>, TArgs>(
  first: DeployFunction<TData, TArgs> | DeployOptions<TData>,
  second?: DeployFunction<TData, TArgs>,
): Deploy<TData, TArgs> {
  const options = typeof first === 'function' ? {} : first;
  const run = typeof first === 'function' ? first : second;
  if (typeof run !== 'function') {
    throw new TypeError('deploy(options, fn): fn must be a function ({ host, ops, facts }) => ...');
  }
  return {
    [DEPLOY_BRAND]: true,
    name: options.name,
    defaults: (options.defaults ?? {}) as Partial<TData>,
    run: (context, args) => run(context, (args ?? {}) as TArgs),
  };
}

/** True for what `deploy()` returns (checked by shape: a deploy file may see another copy of this package). */
export function isDeploy(value: unknown): value is Deploy {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[DEPLOY_BRAND] === true &&
    typeof (value as { run?: unknown }).run === 'function'
  );
}

/** A deploy and where it came from. */
export interface LoadedDeploy {
  readonly file: string;
  readonly deploy: Deploy;
}

/**
 * Load deploy files (TypeScript or JavaScript, no build step): each must
 * `export default deploy(...)` (a plain function is accepted too).
 */
export async function loadDeployFiles(files: readonly string[]): Promise<LoadedDeploy[]> {
  const { importUserModule } = await import('./module-loader.js');
  const { resolve } = await import('node:path');
  const loaded: LoadedDeploy[] = [];
  for (const file of files) {
    let module: Record<string, unknown>;
    try {
      module = await importUserModule(resolve(file));
    } catch (error) {
      throw new DeployFileError(
        file,
        `could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const value = module.default;
    if (isDeploy(value)) loaded.push({ file, deploy: value });
    else if (typeof value === 'function') {
      loaded.push({ file, deploy: deploy(value as DeployFunction) });
    } else {
      throw new DeployFileError(
        file,
        'has no default export from deploy(): expected export default deploy(async ({ host, ops, facts }) => { ... }).',
      );
    }
  }
  return loaded;
}
