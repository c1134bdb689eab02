import { stat } from 'node:fs/promises';
import { FileTransferError } from './errors.js';

const S_IFMT = 0o170000;
/** What a file of this `st_mode` is, in words: `a directory`, `a character device`... */
export function describeFileKind(mode: number): string {
  switch (mode & S_IFMT) {
    case 0o140000:
      return 'a socket';
    case 0o120000:
      return 'a symbolic link';
    case 0o100000:
      return 'a regular file';
    case 0o060000:
      return 'a block device';
    case 0o040000:
      return 'a directory';
    case 0o020000:
      return 'a character device';
    case 0o010000:
      return 'a named pipe';
    default:
      return 'not a regular file';
  }
}

/** True when an `st_mode` is a regular file's. */
export function isRegularFileMode(mode: number): boolean {
  return (mode & S_IFMT) === 0o100000;
}

/**
 * A put whose destination exists but is not a regular file: the atomic replace
 * would rename a file over a device, pipe or socket (or fail on a directory),
 * so every connector refuses it with this error, naming the path.
 */
export class NotRegularFileError extends FileTransferError {
  readonly path: string;

  constructor(path: string, kind: string, where?: string) {
    super(
      `${JSON.stringify(path)} is ${kind}, not a regular file${where === undefined ? '' : ` (on ${where})`}: a put replaces only regular files. Remove it first, or put the file at another path.`,
    );
    this.path = path;
  }
}

/**
 * Shell lines that refuse a destination that exists and is not a regular file
 * (after following symbolic links), for a script that holds the path in `$var`:
 * the message of `NotRegularFileError` on stderr, exit 1.
 */
export function refuseNonRegularShell(variable: string): string {
  const v = `"$${variable}"`;
  return `if [ -e ${v} ] && [ ! -f ${v} ]; then printf '"%s" is not a regular file (a directory, device, pipe or socket): a put replaces only regular files. Remove it first, or put the file at another path.\\n' ${v} >&2; exit 1; fi`;
}

/**
 * For a download to a local path, which is written beside it and renamed over
 * it: throw `NotRegularFileError` when the path exists and is not a regular file
 * (symbolic links followed), so `/dev/null` or a pipe is never replaced.
 */
export async function refuseNonRegularLocalFile(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isFile()) {
    throw new NotRegularFileError(path, describeFileKind(info.mode), 'this machine');
  }
}
