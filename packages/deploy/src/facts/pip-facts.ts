import { sh } from '@infra/core';
import { defineFact } from './fact.js';
import type { PackageVersions } from './package-facts.js';

/** PEP 503's name form: lowercase, runs of `-`, `_` and `.` as one `-`. */
export function normalizePipName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** `pip freeze --all` lines (`Name==1.0`) by normalized name; editable and URL lines are skipped. */
export function parsePipFreeze(lines: readonly string[]): PackageVersions {
  const packages: Record<string, string[]> = {};
  for (const line of lines) {
    const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$/.exec(line.trim());
    if (!match?.[1] || !match[2]) continue;
    const name = normalizePipName(match[1]);
    packages[name] = [...(packages[name] ?? []), match[2]];
  }
  return packages;
}

export interface PipArgs {
  /** The pip to run: `pip`, `pip3`, or a virtualenv's `/srv/venv/bin/pip`. */
  readonly pip: string;
}

export const pipPackagesFact = defineFact<PipArgs, PackageVersions, 'pip.packages'>({
  name: 'pip.packages',
  description: 'Installed Python packages (`PIP freeze --all`), by PEP 503 normalized name.',
  argNames: ['pip'],
  command: ({ pip }) => sh`${pip} freeze --all`,
  parse: (output) => parsePipFreeze(output.stdoutLines),
});

export interface PipInstallPlanArgs extends PipArgs {
  /** What would follow `pip install`: specs, `-r FILE`, `--upgrade`, index options. */
  readonly args: readonly string[];
}

/** The `name-version` words of pip's `Would install ...` line; none when all is satisfied. */
export function parseWouldInstall(lines: readonly string[]): string[] {
  const line = lines.find((l) => l.startsWith('Would install '));
  return line ? line.slice('Would install '.length).trim().split(/\s+/).filter(Boolean) : [];
}

/** What pip would install, or why it could not tell (a missing file, no such version, ...). */
export interface PipInstallPlan {
  readonly install: string[];
  /** pip's error when the dry run failed: the real install would fail the same way, or an earlier operation is not done yet. */
  readonly error: string | null;
}

const EXIT_MARKER = '--infra-pip-exit=';

export const pipInstallPlanFact = defineFact<PipInstallPlanArgs, PipInstallPlan, 'pip.installPlan'>(
  {
    name: 'pip.installPlan',
    description:
      "What `pip install ARGS` would install, by pip's own resolver (`--dry-run`, pip 22.2+): `name-version` words, [] when everything is satisfied; pip's error when it could not tell.",
    argNames: ['pip', 'args'],
    command: ({ pip, args }) =>
      sh`${pip} install --dry-run --disable-pip-version-check ${[...args]} 2>&1; echo ${EXIT_MARKER}$?`,
    parse: (output) => {
      const lines = output.stdoutLines;
      const marker = lines.findLast((l) => l.startsWith(EXIT_MARKER));
      const failed = marker !== undefined && marker !== `${EXIT_MARKER}0`;
      const text = lines.filter((l) => !l.startsWith(EXIT_MARKER));
      return {
        install: parseWouldInstall(text),
        error: failed
          ? text.filter((l) => /error/i.test(l)).join('\n') || text.slice(-3).join('\n')
          : null,
      };
    },
  },
);
