import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { type TreeEntry, treeFact } from '../facts/tree-facts.js';
import { defineOperation, type OperationStep } from '../operation.js';
import {
  commandSteps,
  flag,
  listOf,
  type ModeInput,
  modeText,
  parseMode,
  required,
} from './attributes.js';
import { globMatcher } from './glob.js';
import { fitsTar, tarArchive } from './tar-archive.js';

export interface SyncArgs {
  /** The local folder whose tree is copied. */
  src: string;
  /** The remote folder; created when missing. */
  dest: string;
  /** Remove remote files and folders that are not in `src` (excluded ones are kept). */
  delete?: boolean | string;
  /** Globs of paths to leave out, matched against the path under `src` and its base name. */
  exclude?: string | readonly string[];
  /** Folder names never descended into, here or on the host (`node_modules`, `.git`). */
  excludeDir?: string | readonly string[];
  /** Mode of every file; the local file's mode when not given. */
  mode?: ModeInput;
  /** Mode of every folder; left as it is when not given. */
  dirMode?: ModeInput;
  user?: string;
  group?: string;
}

interface LocalEntry {
  readonly type: 'file' | 'directory';
  readonly mode: number;
  /** The local path, and the path under `src`. */
  readonly path: string;
  readonly rel: string;
  readonly size: number;
  readonly sha256?: string;
}

/** New files go in one tar archive (one transfer, one command) when there are this many. */
const BATCH_MIN_FILES = 8;
/** Only files up to this size go in an archive; an archive holds up to BATCH_ARCHIVE_BYTES. */
const BATCH_FILE_BYTES = 1 << 20;
const BATCH_ARCHIVE_BYTES = 32 << 20;

/**
 * New files as tar archives: each uploaded beside `dest`'s contents, extracted with
 * `tar -xof` (no owners restored), then removed; modes are set by chmod, so the
 * host's tar and umask do not matter.
 */
async function archiveSteps(
  dest: string,
  files: readonly LocalEntry[],
  fileMode: number | undefined,
  dry: boolean,
): Promise<OperationStep[]> {
  const steps: OperationStep[] = [];
  const groups: LocalEntry[][] = [[]];
  let bytes = 0;
  for (const file of files) {
    if (bytes + file.size > BATCH_ARCHIVE_BYTES && (groups.at(-1)?.length ?? 0) > 0) {
      groups.push([]);
      bytes = 0;
    }
    groups.at(-1)?.push(file);
    bytes += file.size;
  }
  for (const group of groups) {
    // The plan pass only shows the steps: the archive is built when it is sent.
    const archive = dry
      ? Buffer.alloc(0)
      : tarArchive(
          await Promise.all(
            group.map(async (file) => ({
              path: file.rel,
              mode: fileMode ?? file.mode,
              content: await readFile(file.path),
            })),
          ),
        );
    const temp = `${dest}/.infra-sync-${randomBytes(6).toString('hex')}.tar`;
    steps.push({ kind: 'upload', src: archive, dest: temp, mode: 0o600 });
    steps.push({
      kind: 'command',
      command: sh`tar -xof ${temp} -C ${dest}; s=$?; rm -f ${temp}; exit $s`,
    });
    const byMode = new Map<number, string[]>();
    for (const file of group) {
      const mode = fileMode ?? file.mode;
      byMode.set(mode, [...(byMode.get(mode) ?? []), `${dest}/${file.rel}`]);
    }
    for (const [mode, paths] of byMode) {
      for (const chunk of chunks(paths)) {
        steps.push({ kind: 'command', command: sh`chmod ${modeText(mode)} -- ${chunk}` });
      }
    }
  }
  return steps;
}

/** The local tree under `root`: relative path -> entry (symlinks followed, as pyinfra does). */
async function localTree(
  root: string,
  excluded: (relative: string) => boolean,
  excludeDirs: ReadonlySet<string>,
): Promise<Map<string, LocalEntry>> {
  const entries = new Map<string, LocalEntry>();
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(root, relative))).sort();
    for (const name of names) {
      const rel = relative === '' ? name : `${relative}/${name}`;
      if (excluded(rel)) continue;
      const path = join(root, rel);
      const info = await stat(path);
      if (info.isDirectory()) {
        if (excludeDirs.has(name)) continue;
        entries.set(rel, { type: 'directory', mode: info.mode & 0o7777, path, rel, size: 0 });
        await walk(rel);
      } else if (info.isFile()) {
        const sha256 = await sha256OfFile(path);
        entries.set(rel, {
          type: 'file',
          mode: info.mode & 0o7777,
          path,
          rel,
          size: info.size,
          sha256,
        });
      }
    }
  };
  await walk('');
  return entries;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Only the top-most of the paths (removing a folder removes what is in it). */
function topMost(paths: readonly string[]): string[] {
  const sorted = [...paths].sort();
  const kept: string[] = [];
  for (const path of sorted) {
    if (!kept.some((top) => path.startsWith(`${top}/`))) kept.push(path);
  }
  return kept;
}

/** Paths in groups small enough for one command line. */
function chunks(paths: readonly string[], size = 200): string[][] {
  const groups: string[][] = [];
  for (let i = 0; i < paths.length; i += size) groups.push(paths.slice(i, i + size));
  return groups;
}

function owner(user: string | undefined, group: string | undefined): string | undefined {
  if (user === undefined && group === undefined) return undefined;
  return `${user ?? ''}${group === undefined ? '' : `:${group}`}`;
}

function differs(wanted: string | undefined, has: string | undefined): boolean {
  return wanted !== undefined && wanted !== has;
}

/**
 * Copy a local folder tree to the host (pyinfra's files.sync): one command reads
 * the remote tree with every file's sha256, then only new and changed files are
 * sent; modes and owners are fixed in a command or two; `delete` removes extras.
 */
export const syncOperation = defineOperation<SyncArgs, 'files.sync'>({
  name: 'files.sync',
  argNames: ['src', 'dest', 'delete', 'exclude', 'excludeDir', 'mode', 'dirMode', 'user', 'group'],
  description:
    'Copy a local folder tree to the host: new and changed files (by sha256) only, modes, owner, `delete` extras, `exclude` globs.',
  label: (args) => `files.sync ${args.src} -> ${args.dest}`,
  plan: async (context, args) => {
    const src = required('files.sync', 'src', args.src);
    const dest = required('files.sync', 'dest', args.dest).replace(/(.)\/+$/, '$1');
    const srcInfo = await stat(src).catch(() => null);
    if (!srcInfo?.isDirectory()) {
      throw new OperationArgumentError(
        'files.sync',
        `src ${src} ${srcInfo ? 'is not a folder' : 'does not exist'}: expected a local folder.`,
      );
    }
    const fileMode = parseMode('files.sync', args.mode);
    const dirMode = parseMode('files.sync', args.dirMode);
    const excluded = globMatcher(listOf(args.exclude));
    const excludeDirs = listOf(args.excludeDir);
    const local = await localTree(src, excluded, new Set(excludeDirs));
    const tree = await context.fact(treeFact, { path: dest, excludeDirs });
    const remoteRoot = tree.entries;
    const remote = remoteRoot ?? {};
    const chown = owner(args.user, args.group);
    const ownerDiffers = (entry: TreeEntry | undefined) =>
      entry === undefined || differs(args.user, entry.user) || differs(args.group, entry.group);

    const mkdirs: string[] = [];
    const chmods = new Map<string, string[]>();
    const chowns: string[] = [];
    const uploads: OperationStep[] = [];
    const batch: LocalEntry[] = [];
    const addChmod = (mode: number, path: string) => {
      const text = modeText(mode);
      chmods.set(text, [...(chmods.get(text) ?? []), path]);
    };
    if (remoteRoot === null) mkdirs.push(dest);
    if (remoteRoot === null && chown) chowns.push(dest);
    for (const [rel, entry] of local) {
      const path = `${dest}/${rel}`;
      const there = remote[rel];
      if (there !== undefined && there.type !== entry.type) {
        throw new OperationArgumentError(
          'files.sync',
          `${path} is a ${there.type} on ${context.host} where ${entry.path} is a ${entry.type}: remove it first.`,
        );
      }
      if (entry.type === 'directory') {
        if (there === undefined) mkdirs.push(path);
        if (dirMode !== undefined && (!there || Number.parseInt(there.mode, 8) !== dirMode)) {
          addChmod(dirMode, path);
        }
      } else {
        const mode = fileMode ?? entry.mode;
        if (there === undefined && tree.tar && entry.size <= BATCH_FILE_BYTES && fitsTar(rel)) {
          batch.push(entry);
        } else if (there?.sha256 !== entry.sha256) {
          uploads.push({ kind: 'upload', src: entry.path, dest: path, mode });
          // A new copy belongs to whoever wrote it: chown it again.
          if (chown) {
            chowns.push(path);
            continue;
          }
        } else if (there && Number.parseInt(there.mode, 8) !== mode) addChmod(mode, path);
      }
      if (chown && ownerDiffers(there)) chowns.push(path);
    }
    const extras = flag(args.delete, false)
      ? topMost(Object.keys(remote).filter((rel) => !local.has(rel) && !excluded(rel)))
      : [];
    const commands = [
      ...chunks(extras.map((rel) => `${dest}/${rel}`)).map((paths) => sh`rm -rf -- ${paths}`),
      ...chunks(mkdirs).map((paths) => sh`mkdir -p -- ${paths}`),
    ];
    const after: StringCommand[] = [];
    for (const [mode, all] of chmods) {
      for (const paths of chunks(all)) after.push(sh`chmod ${mode} -- ${paths}`);
    }
    if (chown) for (const paths of chunks(chowns)) after.push(sh`chown ${chown} -- ${paths}`);
    const archives =
      batch.length >= BATCH_MIN_FILES ? await archiveSteps(dest, batch, fileMode, context.dry) : [];
    if (archives.length === 0) {
      for (const entry of batch) {
        uploads.push({
          kind: 'upload',
          src: entry.path,
          dest: `${dest}/${entry.rel}`,
          mode: fileMode ?? entry.mode,
        });
      }
    }
    const steps = [...commandSteps(commands), ...archives, ...uploads, ...commandSteps(after)];
    if (!context.wantDiff || steps.length === 0) return { steps };
    // --diff: which files are new, changed or removed (not their content).
    const changed = (rel: string) => remote[rel] !== undefined;
    const sent = [
      ...(archives.length > 0 ? batch.map((entry) => entry.rel) : []),
      ...uploads.map((step) => (step.kind === 'upload' ? step.dest.slice(dest.length + 1) : '')),
    ];
    const diff = [
      ...sent.sort().map((rel) => `${changed(rel) ? '~' : '+'} ${dest}/${rel}`),
      ...extras.map((rel) => `- ${dest}/${rel}`),
    ].join('\n');
    return diff === '' ? { steps } : { steps, diff: `${diff}\n` };
  },
});
