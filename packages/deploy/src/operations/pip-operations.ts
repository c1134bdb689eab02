import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { fileFact } from '../facts/file-facts.js';
import { normalizePipName, pipInstallPlanFact, pipPackagesFact } from '../facts/pip-facts.js';
import { defineOperation, type OperationStep, type PlanContext } from '../operation.js';
import { commandSteps, flag, listOf, required } from './attributes.js';

export interface VirtualenvArgs {
  path: string;
  /** The Python to create it with (default `python3`; pyinfra's is `python`). */
  python?: string;
  /** Give it access to the global site-packages. */
  sitePackages?: boolean | string;
  /** Copy files rather than symlink them. */
  alwaysCopy?: boolean | string;
  present?: boolean | string;
}

const VIRTUALENV_ARG_NAMES: (keyof VirtualenvArgs)[] = [
  'path',
  'python',
  'sitePackages',
  'alwaysCopy',
  'present',
];

type VirtualenvOptions = Omit<VirtualenvArgs, 'path'> & { venv: boolean };

/** Steps that make the virtualenv at `path` exist (its bin/activate, not just a folder) or not. */
async function virtualenvSteps(
  context: PlanContext,
  path: string,
  options: VirtualenvOptions,
): Promise<OperationStep[]> {
  const activate = await context.fact(fileFact, { path: `${path}/bin/activate` });
  if (!flag(options.present, true)) {
    return activate === null ? [] : commandSteps([sh`rm -rf -- ${path}`]);
  }
  if (activate !== null) return [];
  const python = options.python ?? 'python3';
  const flags: string[] = [];
  if (flag(options.sitePackages, false)) flags.push('--system-site-packages');
  if (flag(options.alwaysCopy, false)) flags.push(options.venv ? '--copies' : '--always-copy');
  const create = options.venv
    ? sh`${python} -m venv ${[...flags, path]}`
    : sh`virtualenv -p ${python} ${[...flags, path]}`;
  return commandSteps([create]);
}

export const venvOperation = defineOperation<VirtualenvArgs, 'pip.venv'>({
  name: 'pip.venv',
  argNames: VIRTUALENV_ARG_NAMES,
  description:
    'Make a Python virtualenv exist (`python3 -m venv`, when PATH/bin/activate is missing) or not; Debian needs the python3-venv package.',
  label: (args) => `pip.venv ${args.path}`,
  plan: async (context, args) => ({
    steps: await virtualenvSteps(
      context,
      required('pip.venv', 'path', args.path).replace(/\/+$/, ''),
      { ...args, venv: true },
    ),
  }),
});

export const virtualenvOperation = defineOperation<
  VirtualenvArgs & { venv?: boolean | string },
  'pip.virtualenv'
>({
  name: 'pip.virtualenv',
  argNames: [...VIRTUALENV_ARG_NAMES, 'venv'],
  description:
    'Make a Python virtualenv exist (the `virtualenv` command, or `python -m venv` with venv: true) or not.',
  label: (args) => `pip.virtualenv ${args.path}`,
  plan: async (context, args) => ({
    steps: await virtualenvSteps(
      context,
      required('pip.virtualenv', 'path', args.path).replace(/\/+$/, ''),
      { ...args, venv: flag(args.venv, false) },
    ),
  }),
});

export interface PipPackagesArgs {
  /** Requirement specs as pip takes them: `name`, `name==1.0`, `name>=2`, `name[extra]`. */
  packages?: string | readonly string[];
  present?: boolean | string;
  /** Upgrade installed packages that have a newer version (`--upgrade`), decided by pip. */
  latest?: boolean | string;
  /** A requirements file on the host (`-r`). */
  requirements?: string;
  /** The pip command (default `pip`; `PATH/bin/pip` with `virtualenv`). */
  pip?: string;
  /** A virtualenv to install into; created (pip.venv) when missing. */
  virtualenv?: string;
  /** How to create it: pip.virtualenv's arguments (venv: true by default here). */
  virtualenvKwargs?: Omit<VirtualenvArgs, 'path' | 'present'> & { venv?: boolean | string };
  /** More `pip install` arguments, e.g. `--no-index --find-links /srv/wheels` (each word separate, or one string split on spaces). */
  extraInstallArgs?: string | readonly string[];
}

/** The names in a requirements file: the leading name of each line that is not an option or comment. */
export function requirementNames(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith('-')) continue;
    const name = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(line)?.[1];
    if (name) names.push(name);
  }
  return names;
}

function specName(spec: string): string {
  return /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec.trim())?.[1] ?? spec;
}

export const pipPackagesOperation = defineOperation<PipPackagesArgs, 'pip.packages'>({
  name: 'pip.packages',
  argNames: [
    'packages',
    'present',
    'latest',
    'requirements',
    'pip',
    'virtualenv',
    'virtualenvKwargs',
    'extraInstallArgs',
  ],
  description:
    "Install (pip's own resolver decides, by `pip install --dry-run`), upgrade (latest) or uninstall Python packages or a requirements file, optionally in a virtualenv it creates.",
  label: (args) =>
    `pip.packages ${[...listOf(args.packages), ...(args.requirements ? [`-r ${args.requirements}`] : [])].join(' ')}`,
  plan: async (context, args) => {
    const packages = listOf(args.packages);
    if (packages.length === 0 && args.requirements === undefined) {
      throw new OperationArgumentError(
        'pip.packages',
        'give packages (e.g. packages: ["flask==3.0.0"]) or requirements (a file on the host).',
      );
    }
    const present = flag(args.present, true);
    const extra = listOf(args.extraInstallArgs);
    const steps: OperationStep[] = [];
    let pip = args.pip ?? 'pip';
    if (args.virtualenv !== undefined) {
      const path = args.virtualenv.replace(/\/+$/, '');
      const { venv, ...kwargs } = args.virtualenvKwargs ?? {};
      steps.push(
        ...(await virtualenvSteps(context, path, {
          ...kwargs,
          venv: flag(venv, true),
        })),
      );
      pip = `${path}/bin/${args.pip ?? 'pip'}`;
    }
    const requirements = args.requirements === undefined ? [] : ['-r', args.requirements];
    const commands: StringCommand[] = [];
    // A virtualenv about to be created has nothing in it: no pip to ask yet.
    const fresh = steps.length > 0;
    if (present) {
      const upgrade = flag(args.latest, false) ? ['--upgrade'] : [];
      for (const wanted of [requirements, packages]) {
        if (wanted.length === 0) continue;
        const installArgs = [...extra, ...upgrade, ...wanted];
        // A new virtualenv has nothing in it; a failed dry run (a requirements file or
        // wheel an earlier operation puts there, or a real error) is left to the install.
        const plan = fresh
          ? undefined
          : await context.fact(pipInstallPlanFact, { pip, args: installArgs });
        if (plan === undefined || plan.error !== null || plan.install.length > 0) {
          commands.push(sh`${pip} install ${installArgs}`);
        }
      }
    } else if (!fresh) {
      const installed = await context.fact(pipPackagesFact, { pip });
      let names = packages.map(specName);
      if (args.requirements !== undefined) {
        const info = await context.fact(fileFact, { path: args.requirements });
        if (info !== null) {
          names = [
            ...names,
            ...requirementNames((await context.readFile(args.requirements)).toString('utf8')),
          ];
        }
      }
      const remove = [...new Set(names)].filter((name) => installed[normalizePipName(name)]);
      if (remove.length > 0) commands.push(sh`${pip} uninstall --yes ${remove}`);
    }
    return { steps: [...steps, ...commandSteps(commands)] };
  },
});
