import { readFile } from 'node:fs/promises';
import { OperationArgumentError } from '../errors.js';
import type { PlanContext } from '../operation.js';
import { required } from './attributes.js';

/** Where a template comes from: a local Eta file (`src`) or its text (`template`). */
export interface TemplateSource {
  src?: string;
  template?: string;
  /** More variables, next to `host` and `data` (as `it.NAME`). */
  vars?: Record<string, unknown>;
}

/**
 * Render an Eta template with `it.host` (name, groups), `it.data` (the host's data),
 * `it.inventory` (every host of the run with its groups and data) and `it.<vars>`. A template that fails is an `OperationArgumentError` naming it.
 */
export async function renderTemplate(
  operation: string,
  context: Pick<PlanContext, 'host' | 'groups' | 'hostData' | 'inventory'>,
  source: TemplateSource,
): Promise<string> {
  const text = source.template ?? (await readFile(required(operation, 'src', source.src), 'utf8'));
  const { Eta } = await import('eta');
  const eta = new Eta({ autoEscape: false, autoTrim: false });
  try {
    return eta.renderString(text, {
      host: { name: context.host, groups: context.groups },
      data: context.hostData,
      inventory: context.inventory ?? { hosts: [], groups: {} },
      ...source.vars,
    });
  } catch (error) {
    throw new OperationArgumentError(
      operation,
      `the template ${source.src ?? '(inline)'} failed to render: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
