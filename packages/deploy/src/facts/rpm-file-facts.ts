import { sh } from '@infra/core';
import { defineFact } from './fact.js';

/** The package in an .rpm file: name and version-release, or null when there is no file. */
export interface RpmInfo {
  readonly name: string;
  readonly version: string;
}

export const rpmFileFact = defineFact<{ path: string }, RpmInfo | null, 'dnf.rpmFile'>({
  name: 'dnf.rpmFile',
  description:
    'The package in the .rpm at `path` (rpm -qp): name and version-release; null when the file is missing.',
  argNames: ['path'],
  command: ({ path }) =>
    sh`if [ -f ${path} ]; then rpm -qp --queryformat ${'%{NAME}\t%{VERSION}-%{RELEASE}\n'} ${path}; else echo absent; fi`,
  parse: (output) => {
    const line = output.stdoutLines.find((l) => l.trim() !== '') ?? 'absent';
    if (line.trim() === 'absent') return null;
    const [name = '', version = ''] = line.split('\t');
    return { name, version };
  },
});

export const rpmKeysFact = defineFact<Record<string, never>, string[], 'dnf.keys'>({
  name: 'dnf.keys',
  description:
    "Signing keys imported into the rpm database: each gpg-pubkey's version (the key id's last 8 hex digits).",
  argNames: [],
  command: () => sh`rpm -q gpg-pubkey --queryformat ${'%{VERSION}\n'} 2>/dev/null || true`,
  parse: (output) =>
    output.stdoutLines
      .map((line) => line.trim().toLowerCase())
      .filter((line) => /^[0-9a-f]{8}$/.test(line)),
});
