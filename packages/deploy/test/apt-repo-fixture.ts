import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Why the apt repository cannot be built here (a missing tool), or undefined. */
export async function aptRepoMissingReason(): Promise<string | undefined> {
  for (const tool of ['gpg', 'gpgconf', 'dpkg-deb', 'dpkg-scanpackages']) {
    try {
      await exec('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (scripts/setup-test-host.sh installs gnupg and dpkg-dev)`;
    }
  }
  return undefined;
}

/**
 * A flat apt repository (`Suites: ./`) built by the test: .deb packages made with
 * dpkg-deb, indexed by dpkg-scanpackages, an InRelease signed with a throwaway gpg
 * key, served over HTTP on 127.0.0.1 (with the key at /key.asc and loose .debs at /debs/).
 */
export interface AptRepo {
  readonly url: string;
  /** The signing key's fingerprint, upper-case hex. */
  readonly fingerprint: string;
  readonly armoredKey: string;
  readonly binaryKeyPath: string;
  readonly armoredKeyPath: string;
  /** Build `name_version_all.deb` with /usr/share/NAME/hello.txt holding `text`; into the index unless `loose`. */
  addPackage(name: string, version: string, text: string, loose?: boolean): Promise<void>;
  /** Requests served, by path. */
  readonly hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startAptRepo(): Promise<AptRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'infra-apt-'));
  const gnupg = join(dir, 'gnupg');
  const root = join(dir, 'www');
  const repo = join(root, 'repo');
  await mkdir(gnupg, { mode: 0o700 });
  await mkdir(join(root, 'debs'), { recursive: true });
  await mkdir(repo, { recursive: true });
  const env = { ...process.env, GNUPGHOME: gnupg };
  const gpg = (...args: string[]) =>
    exec('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], {
      env,
    });
  await gpg(
    '--quick-gen-key',
    'infra test <infra-test@example.invalid>',
    'ed25519',
    'sign',
    'never',
  );
  const listed = (await gpg('--with-colons', '--list-keys')).stdout;
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listed)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in gpg --list-keys: ${listed}`);
  const armoredKey = (await gpg('--armor', '--export', fingerprint)).stdout;
  const armoredKeyPath = join(root, 'key.asc');
  const binaryKeyPath = join(dir, 'key.gpg');
  await writeFile(armoredKeyPath, armoredKey);
  await gpg('--yes', '-o', binaryKeyPath, '--export', fingerprint);

  const reindex = async () => {
    const { stdout } = await exec('dpkg-scanpackages', ['--multiversion', '.'], { cwd: repo });
    await writeFile(join(repo, 'Packages'), stdout);
    const sha = createHash('sha256').update(stdout).digest('hex');
    const release = [
      'Origin: infra-test',
      'Label: infra-test',
      `Date: ${new Date().toUTCString().replace('GMT', 'UTC')}`,
      'SHA256:',
      ` ${sha} ${Buffer.byteLength(stdout)} Packages`,
      '',
    ].join('\n');
    await writeFile(join(repo, 'Release'), release);
    await gpg(
      '--yes',
      '-u',
      fingerprint,
      '--clearsign',
      '-o',
      join(repo, 'InRelease'),
      join(repo, 'Release'),
    );
  };

  const addPackage = async (name: string, version: string, text: string, loose = false) => {
    const build = join(dir, `build-${name}-${version}`);
    await mkdir(join(build, 'DEBIAN'), { recursive: true });
    await mkdir(join(build, 'usr/share', name), { recursive: true });
    await writeFile(
      join(build, 'DEBIAN/control'),
      `Package: ${name}\nVersion: ${version}\nArchitecture: all\nMaintainer: infra test <infra-test@example.invalid>\nDescription: infra test package\n`,
    );
    await writeFile(join(build, 'usr/share', name, 'hello.txt'), `${text}\n`);
    const deb = join(loose ? join(root, 'debs') : repo, `${name}_${version}_all.deb`);
    await exec('dpkg-deb', ['--root-owner-group', '--build', build, deb]);
    if (!loose) await reindex();
  };
  await reindex();

  const hits = new Map<string, number>();
  const server = createServer(async (request, response) => {
    const path = normalize(decodeURIComponent((request.url ?? '/').split('?')[0] ?? '/'));
    hits.set(path, (hits.get(path) ?? 0) + 1);
    try {
      const body = await readFile(join(root, path));
      response.writeHead(200, { 'Content-Length': body.length }).end(body);
    } catch {
      response.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    fingerprint,
    armoredKey,
    armoredKeyPath,
    binaryKeyPath,
    addPackage,
    hits,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await exec('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
