import { posix } from 'node:path';
import { refuseNonRegularShell, StringCommand, sh } from '@infra/core';
import { randomHex } from './random-hex.js';

/** `0o644` -> `0644`, what `chmod` takes. */
export function octalMode(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new RangeError(`mode ${mode} is not a file mode (expected an integer from 0 to 0o7777).`);
  }
  return `0${mode.toString(8)}`;
}

/**
 * A fresh hidden name beside `path` (same directory, so the final `mv` is an atomic
 * rename): `/etc/.hosts.infra-1f2e3d4c5b6a.tmp`. Every temp file of every connector
 * matches `.*.infra-*.tmp`, which is what a cleanup (or a test) looks for.
 */
export function tempPathBeside(path: string): string {
  const name = posix.basename(path);
  const stem = Buffer.byteLength(name) > 200 ? '' : `.${name}`;
  return posix.join(posix.dirname(path), `${stem}.infra-${randomHex(6)}.tmp`);
}

/** True for a name `tempPathBeside` makes. */
export function isInfraTempName(name: string): boolean {
  return /\.infra-[0-9a-f]{12}\.tmp$/.test(name);
}

export interface InstallScriptOptions {
  /** The final path, absolute. */
  readonly destPath: string;
  /** A fresh name beside it (`tempPathBeside`), removed on every way out of the script. */
  readonly tempPath: string;
  /** The new mode; without it an existing file's mode is kept, a new file gets 0666 less the umask. */
  readonly mode?: number | undefined;
  readonly createParents?: boolean | undefined;
  /** Copy from this (staged) file; without it the content is read from stdin. */
  readonly sourcePath?: string | undefined;
  /**
   * The content's size in bytes, when known: a copy of another size (stdin cut short
   * when the transport died while feeding it) fails and leaves the target as it was.
   */
  readonly size?: number | undefined;
  /**
   * For content of unknown size: the ASCII bytes (a fresh random token) that follow
   * it on stdin. Without them at the end the content was cut short (the transport
   * died while feeding it) and the target is left as it was; they are cut off
   * before the rename.
   */
  readonly endMark?: string | undefined;
}

/**
 * The one install script, run by whoever writes the file (the login user or the
 * become user): it refuses a destination that is not a regular file, writes a
 * private temp file beside it (umask 077), gives it the existing file's owner
 * (where allowed) and the requested or existing mode, then renames it over the
 * old file. A trap removes the temp file however the script ends short of
 * SIGKILL; after a kill the connector runs `makeRemoveScript(tempPath)`.
 */
export function makeInstallScript(options: InstallScriptOptions): StringCommand {
  const dest = options.destPath;
  const mkdir = options.createParents ? sh`mkdir -p ${posix.dirname(dest)} && ` : sh``;
  const mode =
    options.mode === undefined
      ? sh`m=$(stat -c %a "$d" 2>/dev/null || printf %o $((0666 & ~0$(umask)))) && `
      : sh`m=${octalMode(options.mode)} && `;
  const copy =
    options.sourcePath === undefined ? sh`cat > "$t"` : sh`cat ${options.sourcePath} > "$t"`;
  const complete =
    options.size === undefined
      ? sh``
      : sh`n=$(wc -c < "$t") && n=$((n)) && if [ "$n" -ne ${options.size} ]; then echo "only $n of ${options.size} bytes arrived: the content was cut short; the file is unchanged" >&2; exit 1; fi && `;
  const mark = options.endMark;
  const marked =
    mark === undefined || options.size !== undefined
      ? sh``
      : sh`if [ "$(tail -c ${Buffer.byteLength(mark)} "$t")" != ${mark} ]; then echo "the content was cut short; the file is unchanged" >&2; exit 1; fi && n=$(wc -c < "$t") && dd if=/dev/null of="$t" bs=1 seek=$((n - ${Buffer.byteLength(mark)})) 2>/dev/null && `;
  // The old owner first (chown clears set-id bits), then the mode.
  // (where allowed: a failed chown is no failure, a failed copy before it is).
  const owner = sh`{ if [ -e "$d" ]; then o=$(stat -c %u:%g "$d" 2>/dev/null) && chown "$o" "$t" 2>/dev/null; fi; true; } && `;
  return StringCommand.of(
    sh`d=${dest}; t=${options.tempPath}; trap 'rm -f "$t"' EXIT; trap 'exit 129' HUP INT TERM PIPE; `,
    refuseNonRegularShell('d'),
    sh`; ${mkdir}${mode}(umask 077 && ${copy}) && ${complete}${marked}`,
    owner,
    sh`chmod "$m" "$t" && mv -f "$t" "$d"`,
  );
}

/** The script that prints a file's bytes (run as the become user for a become get). */
export function makeReadScript(path: string): StringCommand {
  return sh`cat ${path}`;
}

/** Remove a temp file left by a killed script. */
export function makeRemoveScript(path: string): StringCommand {
  return sh`rm -f ${path}`;
}
