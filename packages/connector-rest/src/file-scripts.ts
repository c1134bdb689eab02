import { randomBytes } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { refuseNonRegularShell, StringCommand, sh } from '@infra/core';

/** The arguments that switch user: files then move through a command run as that user. */
export interface BecomeArguments {
  readonly sudo?: boolean | undefined;
  readonly suUser?: string | undefined;
  readonly doas?: boolean | undefined;
}

export function usesBecome(args: BecomeArguments): boolean {
  return Boolean(args.sudo || args.doas || args.suUser !== undefined);
}

/** `0o644` -> `0644`, what `chmod` takes. */
export function octalMode(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new RangeError(`mode ${mode} is not a file mode (expected an integer from 0 to 0o7777).`);
  }
  return `0${mode.toString(8)}`;
}

/** A fresh hidden name beside `path`, e.g. `/etc/.hosts.infra-1f2e3d4c5b6a7988`. */
export function siblingTempPath(path: string): string {
  const name = basename(path);
  const stem = Buffer.byteLength(name) > 200 ? '' : `.${name}`;
  return `${dirname(path)}/${stem}.infra-${randomBytes(8).toString('hex')}`;
}

export interface InstallScriptOptions {
  /** The final path, absolute. */
  readonly destPath: string;
  /** A fresh name beside it (`siblingTempPath`), removed on every way out of the script. */
  readonly tempPath: string;
  /** The new mode; without it an existing file's mode is kept, a new file gets 0666 less the umask. */
  readonly mode: number | undefined;
  readonly createParents: boolean;
  /** Copy from this file; without it the content is read from stdin. */
  readonly sourcePath?: string;
  /**
   * The content's size in bytes: a copy of another size (stdin cut short when the
   * agent died while feeding it) fails and leaves the target as it was.
   */
  readonly size?: number;
}

/**
 * The script that installs a file atomically as whoever runs it (the become
 * user): a private temp file beside the target (umask 077), the mode, then `mv`
 * over the old file. A trap removes the temp file however the script ends.
 */
export function makeInstallScript(options: InstallScriptOptions): StringCommand {
  const dest = options.destPath;
  const mkdir = options.createParents ? sh`mkdir -p ${dirname(dest)} && ` : sh``;
  const mode =
    options.mode === undefined
      ? sh`m=$(stat -c %a ${dest} 2>/dev/null || stat -f %Lp ${dest} 2>/dev/null || printf %o $((0666 & ~0$(umask)))) && `
      : sh`m=${octalMode(options.mode)} && `;
  const copy =
    options.sourcePath === undefined ? sh`cat > "$t"` : sh`cat ${options.sourcePath} > "$t"`;
  // mv onto a directory would move the file into it, over a device or pipe would
  // replace it: refuse what is not a regular file first.
  const notDir = sh`if [ -d ${dest} ]; then echo ${`${dest} is a directory`} >&2; exit 1; fi; `;
  const notRegular = StringCommand.of(sh`d=${dest};`, refuseNonRegularShell('d'), ';');
  const complete =
    options.size === undefined
      ? sh``
      : sh`n=$(wc -c < "$t") && n=$((n)) && if [ "$n" -ne ${options.size} ]; then echo "only $n of ${options.size} bytes arrived: the content was cut short; the file is unchanged" >&2; exit 1; fi && `;
  return sh`t=${options.tempPath}; trap 'rm -f "$t"' EXIT; trap 'exit 129' HUP INT TERM PIPE; ${notDir}${notRegular} ${mkdir}${mode}umask 077 && ${copy} && ${complete}chmod "$m" "$t" && mv -f "$t" ${dest}`;
}

/** Make a private staging directory other users can traverse but not list; prints its path. */
export function makeStagingDirScript(): StringCommand {
  return sh`d=$(mktemp -d) && chmod 711 "$d" && printf %s "$d"`;
}

/** Print a file's size in bytes, then its base64 (for servers without exec-stream). */
export function makeBase64DumpScript(path: string): StringCommand {
  return sh`wc -c < ${path} && base64 < ${path}`;
}
