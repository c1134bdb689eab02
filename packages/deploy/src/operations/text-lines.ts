import { fileFact } from '../facts/file-facts.js';
import type { OperationPlan, PlanContext } from '../operation.js';
import { planContent } from './files-operations.js';

/**
 * Plan an edit of a text file on the host by its lines: `edit` gets the lines as
 * they are (none when there is no file) and returns them changed, or null when
 * they already are as wanted. The file is uploaded whole only when it changed.
 */
export async function planLineEdit(
  operation: string,
  context: PlanContext,
  path: string,
  edit: (lines: string[]) => string[] | null,
  mode = 0o644,
): Promise<OperationPlan> {
  const info = await context.fact(fileFact, { path });
  const text = info?.type === 'file' ? (await context.readFile(path)).toString('utf8') : '';
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const edited = edit(lines);
  if (edited === null) return { steps: [] };
  const content = edited.length === 0 ? '' : `${edited.join('\n')}\n`;
  return planContent(operation, context, Buffer.from(content), path, { mode }, true);
}

/**
 * Put `line` where the first line `matches` is (dropping later matches), or at the
 * end; with `line` null, drop every matching line. Null when nothing changes.
 */
export function setLine(
  lines: readonly string[],
  matches: (line: string) => boolean,
  line: string | null,
): string[] | null {
  const out: string[] = [];
  let placed = false;
  for (const current of lines) {
    if (!matches(current)) out.push(current);
    else if (line !== null && !placed) {
      out.push(line);
      placed = true;
    }
  }
  if (line !== null && !placed) out.push(line);
  return out.length === lines.length && out.every((l, i) => l === lines[i]) ? null : out;
}
