import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { fileFact, type PathInfo } from '../facts/file-facts.js';
import { defineOperation, type OperationPlan, type PlanContext } from '../operation.js';
import { lineDiff } from '../text-diff.js';
import { commandSteps, flag, integerOf, required } from './attributes.js';

function regexOf(operation: string, name: string, source: string, flags = ''): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new OperationArgumentError(
      operation,
      `${name} ${JSON.stringify(source)} is not a regular expression: ${(error as Error).message}`,
    );
  }
}

/** Write new text over a file it read, keeping its mode (the connector does) and owner. */
function rewrite(
  context: PlanContext,
  path: string,
  info: PathInfo | null,
  before: Buffer | null,
  after: string,
): OperationPlan {
  const content = Buffer.from(after);
  const owner =
    info !== null && info.type === 'file'
      ? [sh`chown ${`${info.user}:${info.group}`} ${path}`]
      : [];
  return {
    steps: [
      { kind: 'upload', src: content, dest: path, createParents: true },
      ...commandSteps(owner),
    ],
    ...(context.wantDiff ? { diff: lineDiff(path, before, content) } : {}),
  };
}

async function readText(operation: string, context: PlanContext, path: string) {
  const info = await context.fact(fileFact, { path });
  if (info !== null && info.type !== 'file') {
    throw new OperationArgumentError(operation, `${path} is a ${info.type}, not a file.`);
  }
  const before = info === null ? null : await context.readFile(path);
  return { info, before, text: before?.toString('utf8') ?? '' };
}

export interface ReplaceArgs {
  path: string;
  /** A regular expression (JavaScript) to find. */
  text: string;
  /** What each match becomes; `$1`, `$&` refer to the match. */
  replace: string;
  /** Regular expression flags besides `g`, e.g. "im". */
  flags?: string;
  /** Replace at most this many matches (default: all). */
  count?: number | string;
}

/** `$&`, `$1`, `$<name>` and `$$` in a replacement, for one match. */
function expand(replacement: string, match: readonly unknown[]): string {
  const last = match.at(-1);
  const groups = typeof last === 'object' && last !== null ? (last as Record<string, string>) : {};
  const captures = match.slice(1, typeof last === 'object' && last !== null ? -3 : -2);
  return replacement.replace(
    /\$(\$|&|\d{1,2}|<([^>]+)>)/g,
    (whole, what: string, name?: string) => {
      if (what === '$') return '$';
      if (what === '&') return String(match[0]);
      if (name !== undefined) return groups[name] ?? '';
      const index = Number(what);
      return index >= 1 && index <= captures.length ? String(captures[index - 1] ?? '') : whole;
    },
  );
}

/** The text after `files.replace`. */
export function applyReplace(content: string, args: ReplaceArgs): string {
  const flags = `${(args.flags ?? '').replace(/g/g, '')}g`;
  const pattern = regexOf('files.replace', 'text', args.text, flags);
  const limit = integerOf('files.replace', 'count', args.count);
  let done = 0;
  return content.replace(pattern, (...match: unknown[]) => {
    if (limit !== undefined && done >= limit) return String(match[0]);
    done++;
    return expand(args.replace, match);
  });
}

export const replaceOperation = defineOperation<ReplaceArgs, 'files.replace'>({
  name: 'files.replace',
  argNames: ['path', 'text', 'replace', 'flags', 'count'],
  description:
    'Replace what a regular expression matches in a remote file (all matches, or `count`); no change when nothing matches.',
  label: (args) => `files.replace ${args.path} ${args.text}`,
  plan: async (context, args) => {
    const path = required('files.replace', 'path', args.path);
    required('files.replace', 'text', args.text);
    if (args.replace === undefined) required('files.replace', 'replace', undefined);
    const { info, before, text } = await readText('files.replace', context, path);
    if (info === null) {
      if (context.dry) return { steps: [{ kind: 'command', command: sh`true` }] };
      throw new OperationArgumentError(
        'files.replace',
        `${path} does not exist on ${context.host}.`,
      );
    }
    const after = applyReplace(text, args);
    return after === text ? { steps: [] } : rewrite(context, path, info, before, after);
  },
});

export interface BlockArgs {
  path: string;
  /** The block's lines (without the markers). */
  content?: string | readonly string[];
  /** The block is in the file (default) or not. */
  present?: boolean | string;
  /** A regular expression: a new block goes after (or `before`) the first line it matches; at the end when none does. */
  line?: string;
  before?: boolean | string;
  after?: boolean | string;
  /** The marker line; `{mark}` becomes `begin`/`end`. Default "# {mark} INFRA BLOCK". */
  marker?: string;
  begin?: string;
  end?: string;
}

/** The text after `files.block`. */
export function applyBlock(content: string, args: BlockArgs): string {
  const marker = args.marker ?? '# {mark} INFRA BLOCK';
  const begin = marker.replace('{mark}', args.begin ?? 'BEGIN');
  const end = marker.replace('{mark}', args.end ?? 'END');
  const body =
    args.content === undefined
      ? []
      : typeof args.content === 'string'
        ? args.content.replace(/\n$/, '').split('\n')
        : [...args.content];
  const trailing = content.endsWith('\n');
  const lines = content === '' ? [] : (trailing ? content.slice(0, -1) : content).split('\n');
  const start = lines.indexOf(begin);
  const stop = start === -1 ? -1 : lines.indexOf(end, start + 1);
  const block = [begin, ...body, end];
  let out: string[];
  if (!flag(args.present, true)) {
    if (start === -1 || stop === -1) return content;
    out = [...lines.slice(0, start), ...lines.slice(stop + 1)];
  } else if (start !== -1 && stop !== -1) {
    out = [...lines.slice(0, start), ...block, ...lines.slice(stop + 1)];
  } else {
    const pattern = args.line === undefined ? undefined : regexOf('files.block', 'line', args.line);
    const at = pattern ? lines.findIndex((l) => pattern.test(l)) : -1;
    if (at === -1) out = [...lines, ...block];
    else {
      const index = flag(args.before, false) ? at : at + 1;
      out = [...lines.slice(0, index), ...block, ...lines.slice(index)];
    }
  }
  const result = out.length === 0 ? '' : `${out.join('\n')}\n`;
  return result === `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}` ? content : result;
}

export const blockOperation = defineOperation<BlockArgs, 'files.block'>({
  name: 'files.block',
  argNames: ['path', 'content', 'present', 'line', 'before', 'after', 'marker', 'begin', 'end'],
  description:
    'Keep a marker-delimited block of lines in a remote file (replaced when it differs; placed before/after a line matching `line`, else at the end), or remove it.',
  label: (args) => `files.block ${args.path}`,
  plan: async (context, args) => {
    const path = required('files.block', 'path', args.path);
    if (flag(args.present, true) && args.content === undefined) {
      required('files.block', 'content', undefined);
    }
    const { info, before, text } = await readText('files.block', context, path);
    if (info === null && !flag(args.present, true)) return { steps: [] };
    const after = applyBlock(text, args);
    return after === text && info !== null
      ? { steps: [] }
      : rewrite(context, path, info, before, after);
  },
});

export interface MoveArgs {
  /** The remote path to move. */
  src: string;
  /** Where to; into it when it is a folder. */
  dest: string;
  /** Replace what is already at the destination (default false: an error). */
  overwrite?: boolean | string;
}

export const moveOperation = defineOperation<MoveArgs, 'files.move'>({
  name: 'files.move',
  argNames: ['src', 'dest', 'overwrite'],
  description:
    'Move a remote file or folder (into `dest` when it is a folder); no change when it was moved already.',
  label: (args) => `files.move ${args.src} -> ${args.dest}`,
  plan: async (context, args) => {
    const src = required('files.move', 'src', args.src);
    let dest = required('files.move', 'dest', args.dest);
    const destInfo = await context.fact(fileFact, { path: dest });
    if (destInfo?.type === 'directory') {
      dest = `${dest.replace(/\/+$/, '')}/${src.replace(/\/+$/, '').split('/').pop()}`;
    }
    const [from, to] = await Promise.all([
      context.fact(fileFact, { path: src }),
      destInfo?.type === 'directory' ? context.fact(fileFact, { path: dest }) : destInfo,
    ]);
    if (from === null) {
      if (to !== null) return { steps: [] };
      if (context.dry) return { steps: commandSteps([sh`mv -- ${src} ${dest}`]) };
      throw new OperationArgumentError(
        'files.move',
        `neither ${src} nor ${dest} exists on ${context.host}: nothing to move.`,
      );
    }
    if (to !== null && !flag(args.overwrite, false)) {
      throw new OperationArgumentError(
        'files.move',
        `${dest} exists on ${context.host}: pass overwrite: true to replace it.`,
      );
    }
    const remove = to !== null ? [sh`rm -rf -- ${dest}`] : [];
    return { steps: commandSteps([...remove, sh`mv -- ${src} ${dest}`]) };
  },
});
