import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { directoryFact } from '../facts/file-facts.js';
import { gitBranchFact, gitCommitFact, gitIn, gitRemoteCommitFact } from '../facts/git-facts.js';
import { knownHostFact } from '../facts/ssh-facts.js';
import { defineOperation, type PlanContext } from '../operation.js';
import { commandSteps, flag, required } from './attributes.js';
import { keyscanCommands } from './ssh-operations.js';

export interface GitRepoOperationArgs {
  /** What to clone: a URL (`https://`, `ssh://`, `file://`), `user@host:path`, or a path. */
  src: string;
  /** The working tree on the host. */
  dest: string;
  /** The branch to check out (default: the remote's default branch). */
  branch?: string;
  /** A commit or tag to pin the tree to (detached); `branch` and `pull` do not apply then. */
  commit?: string;
  /** Pull when the remote branch has moved on (default true). */
  pull?: boolean | string;
  /** Pull with `--rebase` instead of `--ff-only`. */
  rebase?: boolean | string;
  /** Owner of the working tree (`chown -R`). */
  user?: string;
  group?: string;
  /** Add an ssh remote's host keys to known_hosts first (as ssh.keyscan). */
  sshKeyscan?: boolean | string;
}

/** The host and port of an ssh remote (`ssh://[user@]host[:port]/path` or `user@host:path`), else undefined. */
export function sshRemote(src: string): { hostname: string; port: number } | undefined {
  const url = /^(?:git\+)?ssh:\/\/(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\//.exec(src);
  if (url?.[1]) return { hostname: url[1].replace(/^\[|\]$/g, ''), port: Number(url[2] ?? 22) };
  const scp = /^(?:[^@/:]+@)?([^:/]+):(?!\/\/)/.exec(src);
  if (scp?.[1] && !/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) return { hostname: scp[1], port: 22 };
  return undefined;
}

async function planRepo(context: PlanContext, args: GitRepoOperationArgs) {
  const src = required('git.repo', 'src', args.src);
  const dest = required('git.repo', 'dest', args.dest).replace(/(.)\/+$/, '$1');
  if (args.commit !== undefined && args.branch !== undefined) {
    throw new OperationArgumentError('git.repo', 'give a branch or a commit, not both.');
  }
  const commands: StringCommand[] = [];
  const remote = flag(args.sshKeyscan, false) ? sshRemote(src) : undefined;
  if (remote && !(await context.fact(knownHostFact, remote))) {
    commands.push(...keyscanCommands(remote.hostname, remote.port, false));
  }
  const git = gitIn(dest);
  const head = await context.fact(gitCommitFact, { repo: dest });
  if (head === null) {
    const branch = args.branch === undefined ? sh`` : sh`--branch ${args.branch}`;
    commands.push(sh`git clone -q ${branch} -- ${src} ${dest}`);
    if (args.commit !== undefined) commands.push(sh`${git} checkout -q --detach ${args.commit}`);
  } else if (args.commit !== undefined) {
    const pinned = await context.fact(gitCommitFact, { repo: dest, rev: args.commit });
    if (pinned !== head) {
      if (pinned === null) commands.push(sh`${git} fetch -q --tags origin`);
      commands.push(sh`${git} checkout -q --detach ${args.commit}`);
    }
  } else {
    const current = await context.fact(gitBranchFact, { repo: dest });
    if (args.branch !== undefined && current !== args.branch) {
      commands.push(sh`${git} fetch -q origin`, sh`${git} checkout -q ${args.branch}`);
    } else if (flag(args.pull, true) && current !== null) {
      const upstream = await context.fact(gitRemoteCommitFact, { repo: dest, branch: current });
      if (upstream !== null && upstream !== head) {
        commands.push(sh`${git} pull -q ${flag(args.rebase, false) ? '--rebase' : '--ff-only'}`);
      }
    }
  }
  if (args.user !== undefined || args.group !== undefined) {
    const owner = `${args.user ?? ''}${args.group === undefined ? '' : `:${args.group}`}`;
    const info = head === null ? null : await context.fact(directoryFact, { path: dest });
    const differs =
      info === null ||
      info.type === 'other' ||
      (args.user !== undefined && info.user !== args.user) ||
      (args.group !== undefined && info.group !== args.group);
    if (differs || commands.length > 0) commands.push(sh`chown -R ${owner} -- ${dest}`);
  }
  return { steps: commandSteps(commands) };
}

export const repoOperation = defineOperation<GitRepoOperationArgs, 'git.repo'>({
  name: 'git.repo',
  argNames: ['src', 'dest', 'branch', 'commit', 'pull', 'rebase', 'user', 'group', 'sshKeyscan'],
  description:
    'Clone a git repository, or bring a clone to a branch (pulled when the remote moved) or a pinned commit or tag; owner; ssh host keys.',
  label: (args) => `git.repo ${args.src} -> ${args.dest}`,
  plan: planRepo,
});
