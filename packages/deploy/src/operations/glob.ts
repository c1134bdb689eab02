/**
 * A glob as a regular expression: `*` and `?` stop at `/`, `**` crosses folders,
 * `[abc]` is a class. Used by `files.sync` excludes (matched against a path
 * relative to the synced folder and against its base name).
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          source += '(?:.*/)?';
        } else source += '.*';
      } else source += '[^/]*';
    } else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        const body = glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        source += `[${body}]`;
        i = end;
      }
    } else source += char.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** True when a glob has wildcard characters. */
export function hasGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/** A matcher for a list of globs: true when `relative` (or its base name) matches one. */
export function globMatcher(globs: readonly string[]): (relative: string) => boolean {
  const patterns = globs.map(globToRegExp);
  return (relative) => {
    const base = relative.slice(relative.lastIndexOf('/') + 1);
    return patterns.some((pattern) => pattern.test(relative) || pattern.test(base));
  };
}
