/**
 * The one glob matcher: `*` any run of characters, `?` one character, `[abc]` /
 * `[a-z]` / `[!abc]` a class; everything else literal. With `separator` (e.g. `/`),
 * `*` and `?` do not cross it, as in file paths. Matches the whole string.
 */
export function globToRegExp(glob: string, options: { separator?: string } = {}): RegExp {
  const not = options.separator === undefined ? '' : escapeClass(options.separator);
  const any = not === '' ? '[\\s\\S]' : `[^${not}]`;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*') source += `${any}*`;
    else if (char === '?') source += any;
    else if (char === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${escapeClass(body).replace(/\\-/g, '-')}]`;
      i = end;
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function escapeClass(text: string): string {
  return text.replace(/[\]\\^-]/g, '\\$&');
}

/** True when `text` matches `glob` as a whole (see `globToRegExp`). */
export function matchGlob(
  glob: string,
  text: string,
  options: { separator?: string } = {},
): boolean {
  return globToRegExp(glob, options).test(text);
}
