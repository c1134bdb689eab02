import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { defineOperation } from '../operation.js';
import { commandSteps } from './attributes.js';
import { renderTemplate, type TemplateSource } from './template-render.js';

export interface ScriptTemplateArgs extends TemplateSource {
  /** A local Eta template of a script (or give `template` as text). */
  src?: string;
  /** Arguments for the script, each quoted. */
  args?: readonly string[];
}

export const scriptTemplateOperation = defineOperation<ScriptTemplateArgs, 'server.scriptTemplate'>(
  {
    name: 'server.scriptTemplate',
    argNames: ['src', 'template', 'vars', 'args'],
    description:
      'Render an Eta template (it.host, it.data, it.<vars>) into a script, upload it to a temporary file, run it with sh, remove it. Always a change.',
    label: (args) => `server.scriptTemplate ${args.src ?? '(inline)'}`,
    plan: async (context, args) => {
      if (args.src === undefined && args.template === undefined) {
        throw new OperationArgumentError(
          'server.scriptTemplate',
          'give src (a local template file) or template (its text).',
        );
      }
      const script = await renderTemplate('server.scriptTemplate', context, args);
      const name = basename(args.src ?? 'inline').replace(/[^A-Za-z0-9._-]/g, '_');
      const remote = `/tmp/infra-script-${randomBytes(6).toString('hex')}-${name}`;
      return {
        steps: [
          { kind: 'upload' as const, src: Buffer.from(script), dest: remote, mode: 0o700 },
          ...commandSteps([
            sh`sh ${remote} ${args.args ?? []}; code=$?; rm -f ${remote}; exit $code`,
          ]),
        ],
      };
    },
  },
);
