import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { directoryFact, fileFact, type PathInfo } from '../facts/file-facts.js';
import { matchingFact, patternBase } from '../facts/tree-facts.js';
import { defineOperation, type OperationStep, type PlanContext } from '../operation.js';
import { lineDiff } from '../text-diff.js';
import {
  attributeCommands,
  commandSteps,
  flag,
  type ModeInput,
  parseMode,
  required,
} from './attributes.js';
import { hasGlob } from './glob.js';
import { renderTemplate } from './template-render.js';

async function sha256Of(source: string | Buffer): Promise<string> {
  const hash = createHash('sha256');
  if (Buffer.isBuffer(source)) return hash.update(source).digest('hex');
  for await (const chunk of createReadStream(source)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function refuseType(operation: string, path: string, info: PathInfo | null, wanted: string): void {
  if (info !== null && info.type !== wanted) {
    throw new OperationArgumentError(
      operation,
      `${path} exists as a ${info.type}, not a ${wanted}: remove it first or choose another path.`,
    );
  }
}

/** Upload `content` to `dest` unless it already holds the same bytes; then fix mode/owner. */
export async function planContent(
  operation: string,
  context: PlanContext,
  content: string | Buffer,
  dest: string,
  wanted: { mode?: number | undefined; user?: string | undefined; group?: string | undefined },
  createParents: boolean,
) {
  const remote = await context.fact(fileFact, { path: dest });
  refuseType(operation, dest, remote, 'file');
  const localSha = await sha256Of(content);
  const steps: OperationStep[] = [];
  let diff: string | undefined;
  if (remote === null || remote.type !== 'file' || remote.sha256 !== localSha) {
    steps.push({
      kind: 'upload',
      src: content,
      dest,
      ...(wanted.mode === undefined ? {} : { mode: wanted.mode }),
      createParents,
    });
    steps.push(
      ...commandSteps(attributeCommands(dest, null, { user: wanted.user, group: wanted.group })),
    );
    if (context.wantDiff) {
      const before = remote === null ? null : await context.readFile(dest);
      const after = Buffer.isBuffer(content) ? content : await readFile(content);
      diff = lineDiff(dest, before, after);
    }
  } else {
    steps.push(...commandSteps(attributeCommands(dest, remote, wanted)));
  }
  return diff === undefined ? { steps } : { steps, diff };
}

export interface PutArgs {
  /** A local file path, or the content itself as a Buffer. */
  src: string | Buffer;
  dest: string;
  mode?: ModeInput;
  user?: string;
  group?: string;
  /** Create the destination's missing parent directories (default true). */
  createRemoteDir?: boolean;
}

export const putOperation = defineOperation<PutArgs, 'files.put'>({
  name: 'files.put',
  argNames: ['src', 'dest', 'mode', 'user', 'group', 'createRemoteDir'],
  description:
    'Upload a local file (or bytes) when the remote sha256 differs; set mode, user, group.',
  label: (args) => `files.put ${args.dest}`,
  plan: async (context, args) => {
    const src = required('files.put', 'src', args.src);
    const dest = required('files.put', 'dest', args.dest);
    return planContent(
      'files.put',
      context,
      src,
      dest,
      { mode: parseMode('files.put', args.mode), user: args.user, group: args.group },
      flag(args.createRemoteDir, true),
    );
  },
});

export interface TemplateArgs {
  /** A local Eta template file; or give `template` as text. */
  src?: string;
  template?: string;
  dest: string;
  /** More variables for the template, next to `host` and `data` (as `it.NAME`). */
  vars?: Record<string, unknown>;
  mode?: ModeInput;
  user?: string;
  group?: string;
  createRemoteDir?: boolean;
}

export const templateOperation = defineOperation<TemplateArgs, 'files.template'>({
  name: 'files.template',
  argNames: ['src', 'template', 'dest', 'vars', 'mode', 'user', 'group', 'createRemoteDir'],
  description:
    'Render an Eta template (it.host, it.data, it.inventory, it.<vars>) and upload it when the result differs.',
  label: (args) => `files.template ${args.dest}`,
  plan: async (context, args) => {
    const dest = required('files.template', 'dest', args.dest);
    const rendered = await renderTemplate('files.template', context, args);
    return planContent(
      'files.template',
      context,
      Buffer.from(rendered),
      dest,
      { mode: parseMode('files.template', args.mode), user: args.user, group: args.group },
      flag(args.createRemoteDir, true),
    );
  },
});

export interface GetArgs {
  /** The remote file; or a wildcard path (`/var/log/*.log`, `**` for any depth) for many. */
  src: string;
  /** The local path to write; a local folder when `src` has wildcards. */
  dest: string;
}

export const getOperation = defineOperation<GetArgs, 'files.get'>({
  name: 'files.get',
  argNames: ['src', 'dest'],
  description:
    'Download a remote file (or every file matching a wildcard path, into a folder) when the local copy is missing or differs.',
  label: (args) => `files.get ${args.src}`,
  plan: async (context, args) => {
    const src = required('files.get', 'src', args.src);
    const dest = required('files.get', 'dest', args.dest);
    if (hasGlob(src)) return planGetMatching(context, src, dest);
    const remote = await context.fact(fileFact, { path: src });
    // In the plan pass an earlier operation may not have created it yet.
    if (remote === null && context.dry)
      return { steps: [{ kind: 'download' as const, src, dest }] };
    if (remote === null || remote.type !== 'file') {
      throw new OperationArgumentError(
        'files.get',
        `${src} ${remote === null ? 'does not exist' : `is a ${remote.type}`} on ${context.host}: expected a file.`,
      );
    }
    const local = await sha256Of(dest).catch(() => null);
    return { steps: local === remote.sha256 ? [] : [{ kind: 'download' as const, src, dest }] };
  },
});

/** `files.get` of a wildcard path: every match whose local copy under `dest` differs, one fact read. */
async function planGetMatching(context: PlanContext, pattern: string, dest: string) {
  const remote = await context.fact(matchingFact, { pattern });
  const { base } = patternBase(pattern);
  const steps: OperationStep[] = [];
  for (const [path, sha256] of Object.entries(remote).sort()) {
    const relative = path.slice(base === '/' ? 1 : base.length + 1);
    const local = join(dest, ...relative.split('/'));
    if ((await sha256Of(local).catch(() => null)) === sha256) continue;
    steps.push({ kind: 'download', src: path, dest: local, createParents: true });
  }
  return { steps };
}

export interface DirectoryArgs {
  path: string;
  present?: boolean;
  mode?: ModeInput;
  user?: string;
  group?: string;
}

export const directoryOperation = defineOperation<DirectoryArgs, 'files.directory'>({
  name: 'files.directory',
  argNames: ['path', 'present', 'mode', 'user', 'group'],
  description: 'Make a directory exist (with parents) or not; set mode, user, group.',
  label: (args) => `files.directory ${args.path}`,
  plan: async (context, args) => {
    const path = required('files.directory', 'path', args.path);
    const info = await context.fact(directoryFact, { path });
    const wanted = {
      mode: parseMode('files.directory', args.mode),
      user: args.user,
      group: args.group,
    };
    if (!flag(args.present, true)) {
      if (info === null) return { steps: [] };
      refuseType('files.directory', path, info, 'directory');
      return { steps: commandSteps([sh`rm -rf -- ${path}`]) };
    }
    refuseType('files.directory', path, info, 'directory');
    const create = info === null ? [sh`mkdir -p -- ${path}`] : [];
    return { steps: commandSteps([...create, ...attributeCommands(path, info, wanted)]) };
  },
});

export interface FileArgs {
  path: string;
  present?: boolean;
  /** Update the file's times even when it exists (always a change). */
  touch?: boolean;
  mode?: ModeInput;
  user?: string;
  group?: string;
  createRemoteDir?: boolean;
}

export const fileOperation = defineOperation<FileArgs, 'files.file'>({
  name: 'files.file',
  argNames: ['path', 'present', 'touch', 'mode', 'user', 'group', 'createRemoteDir'],
  description:
    'Make a file exist (empty when created), or not, or touch it; set mode, user, group.',
  label: (args) => `files.file ${args.path}`,
  plan: async (context, args) => {
    const path = required('files.file', 'path', args.path);
    const info = await context.fact(directoryFact, { path });
    if (!flag(args.present, true)) {
      if (info === null) return { steps: [] };
      refuseType('files.file', path, info, 'file');
      return { steps: commandSteps([sh`rm -f -- ${path}`]) };
    }
    refuseType('files.file', path, info, 'file');
    const commands = [];
    if (info === null && flag(args.createRemoteDir, false)) {
      commands.push(sh`mkdir -p -- "$(dirname -- ${path})"`);
    }
    if (info === null || flag(args.touch, false)) commands.push(sh`touch -- ${path}`);
    const wanted = { mode: parseMode('files.file', args.mode), user: args.user, group: args.group };
    commands.push(...attributeCommands(path, info, wanted));
    return { steps: commandSteps(commands) };
  },
});

export interface LinkArgs {
  path: string;
  /** What the symlink points to; required unless `present: false`. */
  target?: string;
  present?: boolean;
}

export const linkOperation = defineOperation<LinkArgs, 'files.link'>({
  name: 'files.link',
  argNames: ['path', 'target', 'present'],
  description: 'Make a symbolic link point to a target, or remove it.',
  label: (args) => `files.link ${args.path}`,
  plan: async (context, args) => {
    const path = required('files.link', 'path', args.path);
    const info = await context.fact(directoryFact, { path });
    if (!flag(args.present, true)) {
      if (info === null) return { steps: [] };
      refuseType('files.link', path, info, 'link');
      return { steps: commandSteps([sh`rm -f -- ${path}`]) };
    }
    const target = required('files.link', 'target', args.target);
    refuseType('files.link', path, info, 'link');
    if (info !== null && info.type === 'link' && info.target === target) return { steps: [] };
    return { steps: commandSteps([sh`ln -sfn -- ${target} ${path}`]) };
  },
});

export interface LineArgs {
  path: string;
  /** A regular expression (JavaScript) that finds the line. */
  line: string;
  /** The text the matching lines should be; also what is appended when none match. */
  replace?: string;
  present?: boolean;
}

/** The new content of a file after `files.line`, or the same string when nothing changes. */
export function applyLine(content: string, args: LineArgs): string {
  const pattern = new RegExp(args.line);
  const trailing = content.endsWith('\n');
  const lines = content === '' ? [] : (trailing ? content.slice(0, -1) : content).split('\n');
  let out: string[];
  if (!flag(args.present, true)) {
    out = lines.filter((l) => !pattern.test(l));
  } else if (!lines.some((l) => pattern.test(l))) {
    // As pyinfra: the appended text is `replace`, else the pattern without its ^ and $ anchors.
    out = [...lines, args.replace ?? args.line.replace(/^\^/, '').replace(/\$$/, '')];
  } else if (args.replace !== undefined) {
    const replacement = args.replace;
    out = lines.map((l) => (pattern.test(l) ? replacement : l));
  } else {
    out = lines;
  }
  if (out.length === lines.length && out.every((l, i) => l === lines[i])) return content;
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

export const lineOperation = defineOperation<LineArgs, 'files.line'>({
  name: 'files.line',
  argNames: ['path', 'line', 'replace', 'present'],
  description:
    'Make a line matching a regex be in a file (append `replace ?? line`, or replace matches), or not.',
  label: (args) => `files.line ${args.path} ${args.line}`,
  plan: async (context, args) => {
    const path = required('files.line', 'path', args.path);
    required('files.line', 'line', args.line);
    try {
      new RegExp(args.line);
    } catch (error) {
      throw new OperationArgumentError(
        'files.line',
        `line ${JSON.stringify(args.line)} is not a regular expression: ${(error as Error).message}`,
      );
    }
    const info = await context.fact(fileFact, { path });
    refuseType('files.line', path, info, 'file');
    const before = info === null ? null : await context.readFile(path);
    const text = before?.toString('utf8') ?? '';
    const after = applyLine(text, args);
    if (after === text && (before !== null || !flag(args.present, true))) return { steps: [] };
    const content = Buffer.from(after);
    return {
      steps: [{ kind: 'upload' as const, src: content, dest: path }],
      ...(context.wantDiff ? { diff: lineDiff(path, before, content) } : {}),
    };
  },
});
