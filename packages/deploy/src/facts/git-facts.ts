import { sh } from '@infra/core';
import { defineFact } from './fact.js';

export interface GitRepoArgs {
  /** The working tree. */
  readonly repo: string;
}

/** `git -C repo`, trusted whoever owns it (root reading a tree chowned to the app user). */
export function gitIn(repo: string) {
  return sh`git -c safe.directory=${repo} -C ${repo}`;
}

function firstLineOrNull(text: string): string | null {
  return text.trim().split('\n')[0] || null;
}

/** The branch checked out in a working tree; null when detached or not a repository. */
export const gitBranchFact = defineFact<GitRepoArgs, string | null, 'git.branch'>({
  name: 'git.branch',
  description:
    'The branch checked out in `repo`: null when HEAD is detached or there is no repository.',
  argNames: ['repo'],
  command: ({ repo }) =>
    sh`[ -e ${`${repo}/.git`} ] || exit 0; ${gitIn(repo)} symbolic-ref --short -q HEAD || true`,
  parse: (output) => firstLineOrNull(output.stdout),
});

export interface GitCommitArgs extends GitRepoArgs {
  /** A revision to resolve (a tag, branch or commit); HEAD when not given. */
  readonly rev?: string;
}

/** The commit a revision names in a working tree; null when unknown there or not a repository. */
export const gitCommitFact = defineFact<GitCommitArgs, string | null, 'git.commit'>({
  name: 'git.commit',
  description:
    'The commit (sha) `rev` (default HEAD) names in `repo`: null when it is unknown there or there is no repository.',
  argNames: ['repo', 'rev'],
  command: ({ repo, rev = 'HEAD' }) =>
    sh`[ -e ${`${repo}/.git`} ] || exit 0; ${gitIn(repo)} rev-parse -q --verify ${`${rev}^{commit}`} || true`,
  parse: (output) => firstLineOrNull(output.stdout),
});

export interface GitRemoteCommitArgs extends GitRepoArgs {
  readonly branch: string;
}

/** The commit a branch of `origin` is at now (`git ls-remote`): reads the remote, changes nothing. */
export const gitRemoteCommitFact = defineFact<
  GitRemoteCommitArgs,
  string | null,
  'git.remoteCommit'
>({
  name: 'git.remoteCommit',
  description: "The commit `branch` is at on the repository's origin now (git ls-remote).",
  argNames: ['repo', 'branch'],
  command: ({ repo, branch }) => sh`${gitIn(repo)} ls-remote origin ${`refs/heads/${branch}`}`,
  parse: (output) => output.stdout.trim().split(/\s+/)[0] || null,
});
