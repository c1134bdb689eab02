export interface GlobOptions {
  /** `*` and `?` do not cross it (`/` for paths); `**` does, and `**​/` matches no folder too. */
  separator?: string;
  /** Match letters of either case (host names). */
  caseInsensitive?: boolean;
  /** `[...]` is a class (default); false: a literal bracket, OpenSSH's rule for ssh_config and known_hosts patterns. */
  classes?: boolean;
}

function escapeClass(text: string): string {
  return text.replace(/[\]\\^-]/g, '\\$&');
}

/**
 * The one glob matcher: `*` any run of characters, `?` one character, `[abc]` /
 * `[a-z]` / `[!abc]` a class (unless `classes: false`); everything else literal. With
 * `separator`, `*` and `?` stay within one part and `**` crosses parts. Matches the
 * whole string.
 */
export function globToRegExp(glob: string, options: GlobOptions = {}): RegExp {
  const sep = options.separator === undefined ? '' : escapeClass(options.separator);
  const one = sep === '' ? '[\\s\\S]' : `[^${sep}]`;
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*' && sep !== '' && glob[i + 1] === '*') {
      i++;
      if (glob[i + 1] === options.separator) {
        i++;
        source += `(?:[\\s\\S]*${sep})?`;
      } else source += '[\\s\\S]*';
    } else if (char === '*') source += `${one}*`;
    else if (char === '?') source += one;
    else if (char === '[' && options.classes !== false) {
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
  return new RegExp(`^${source}$`, options.caseInsensitive ? 'i' : '');
}

const MAX_COMPILED = 1024;
const compiled = new Map<string, RegExp>();

/**
 * True when `text` matches `glob` as a whole (see `globToRegExp`). Each glob is
 * compiled once per set of options: callers match the same few patterns against
 * many texts (every host of a run against the ssh_config `Host` lines).
 */
export function matchGlob(glob: string, text: string, options: GlobOptions = {}): boolean {
  const key = `${options.separator ?? ''}\0${options.caseInsensitive ? 'i' : ''}${options.classes === false ? 'l' : ''}\0${glob}`;
  let regExp = compiled.get(key);
  if (regExp === undefined) {
    regExp = globToRegExp(glob, options);
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    compiled.set(key, regExp);
  }
  return regExp.test(text);
}
