import { type StringCommand, sh } from '@infra/core';

/** Make a private staging directory other users can traverse but not list; prints its path. */
export function makeStagingDirScript(): StringCommand {
  return sh`d=$(mktemp -d) && chmod 711 "$d" && printf %s "$d"`;
}

/** Print a file's size in bytes, then its base64 (for servers without exec-stream). */
export function makeBase64DumpScript(path: string): StringCommand {
  return sh`wc -c < ${path} && base64 < ${path}`;
}
