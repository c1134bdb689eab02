import { globToRegExp } from '@infra/connector-utils';

/** True when a path has wildcard characters (`*`, `?`, `[`). */
export function hasGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

/**
 * `files.sync` excludes: true when `relative` (a path inside the synced folder) or its
 * base name matches one of the globs, by the shared matcher of `@infra/connector-utils`
 * with `/` as separator (`*` and `?` stop at a slash, `**` crosses folders, `**​/` matches
 * no folder too).
 */
export function globMatcher(globs: readonly string[]): (relative: string) => boolean {
  const patterns = globs.map((glob) => globToRegExp(glob, { separator: '/' }));
  return (relative) => {
    const base = relative.slice(relative.lastIndexOf('/') + 1);
    return patterns.some((pattern) => pattern.test(relative) || pattern.test(base));
  };
}
