import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A bare repository made by the test (branch main, tag v1 on the first commit) and a clone to push from. */
export interface GitFixture {
  readonly dir: string;
  readonly bare: string;
  /** A copy of the bare repository owned by infra-plain, served by sshd as that user. */
  readonly bareForSsh: string;
  /** The commit v1 points to, and main's head. */
  readonly v1: string;
  head(): Promise<string>;
  /** Commit a file change on main and push it; returns the new head. */
  push(file: string, content: string): Promise<string>;
  dispose(): Promise<void>;
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec(
    'git',
    ['-c', 'user.name=infra test', '-c', 'user.email=test@infra.invalid', ...args],
    { cwd },
  );
  return stdout.trim();
}

export async function makeGitFixture(): Promise<GitFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-git-'));
  // Readable by the test users (git over ssh runs as infra-plain; @ssh deploys as infra-sudo).
  await chmod(dir, 0o755);
  const bare = join(dir, 'app.git');
  const work = join(dir, 'work');
  await git(dir, 'init', '-q', '--bare', '-b', 'main', bare);
  await git(dir, 'clone', '-q', bare, work);
  await git(work, 'checkout', '-q', '-b', 'main');
  await writeFile(join(work, 'README'), 'version 1\n');
  await git(work, 'add', '.');
  await git(work, 'commit', '-q', '-m', 'one');
  await git(work, 'tag', 'v1');
  await writeFile(join(work, 'README'), 'version 2\n');
  await git(work, 'commit', '-q', '-am', 'two');
  await git(work, 'push', '-q', 'origin', 'main', '--tags');
  const v1 = await git(work, 'rev-parse', 'v1^{commit}');
  await exec('chmod', ['-R', 'a+rX', dir]);
  // git refuses a repository its user does not own ("dubious ownership").
  const bareForSsh = join(dir, 'app-ssh.git');
  await exec('cp', ['-a', bare, bareForSsh]);
  await exec('chown', ['-R', 'infra-plain:', bareForSsh]);
  return {
    dir,
    bare,
    bareForSsh,
    v1,
    head: () => git(work, 'rev-parse', 'HEAD'),
    push: async (file, content) => {
      await writeFile(join(work, file), content);
      await git(work, 'add', '.');
      await git(work, 'commit', '-q', '-m', `change ${file}`);
      await git(work, 'push', '-q', 'origin', 'main');
      await exec('chmod', ['-R', 'a+rX', bare]);
      return git(work, 'rev-parse', 'HEAD');
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
