const MAX_LINES = 2000;

function isText(content: Buffer): boolean {
  return !content.includes(0);
}

/**
 * A unified-style line diff of a file's old and new content, for `--diff`:
 * `-` lines removed, `+` lines added, unchanged lines left out. Binary or very
 * long content is summarised instead.
 */
export function lineDiff(path: string, before: Buffer | null, after: Buffer): string {
  const header = `--- ${before === null ? '/dev/null' : path}\n+++ ${path}`;
  if ((before !== null && !isText(before)) || !isText(after)) {
    return `${header}\nbinary content differs (${before?.length ?? 0} -> ${after.length} bytes)`;
  }
  const a = before === null || before.length === 0 ? [] : before.toString('utf8').split('\n');
  const b = after.length === 0 ? [] : after.toString('utf8').split('\n');
  if (a.length > MAX_LINES || b.length > MAX_LINES) {
    return `${header}\ncontent differs (${a.length} -> ${b.length} lines)`;
  }
  // Longest common subsequence table, then walk it.
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] =
        a[i] === b[j]
          ? ((lcs[i + 1] as number[])[j + 1] as number) + 1
          : Math.max((lcs[i + 1] as number[])[j] as number, row[j + 1] as number);
    }
  }
  const lines: string[] = [header];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (
      i < a.length &&
      (j >= b.length ||
        ((lcs[i + 1] as number[])[j] as number) >= ((lcs[i] as number[])[j + 1] as number))
    ) {
      lines.push(`-${a[i++]}`);
    } else {
      lines.push(`+${b[j++]}`);
    }
  }
  return lines.join('\n');
}
