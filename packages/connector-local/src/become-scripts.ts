import { dirname } from 'node:path';
import { type StringCommand, sh } from '@infra/core';

/** The arguments that switch user: files then move through a command run as that user. */
export interface BecomeArguments {
  sudo?: boolean | undefined;
  suUser?: string | undefined;
  doas?: boolean | undefined;
}

export function usesBecome(args: BecomeArguments): boolean {
  return Boolean(args.sudo || args.doas || args.suUser !== undefined);
}

/** `0o644` -> `0644`, what `chmod` takes. */
export function octalMode(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
    throw new RangeError(`mode ${mode} is not a file mode (expected an integer 0 to 0o7777).`);
  }
  return `0${mode.toString(8)}`;
}

export interface BecomePutScriptOptions {
  /** The final path, absolute. */
  destPath: string;
  /** A fresh name beside it, removed on every path out of the script. */
  tempPath: string;
  mode: number;
  createParents: boolean;
}

/**
 * The script a become user runs to write stdin to `destPath` atomically: a
 * private temp file (umask 077) beside it, `chmod`, then `mv` over the old one.
 * A trap removes the temp file however the script ends (short of SIGKILL, which
 * the connector cleans up after).
 */
export function makeBecomePutScript(options: BecomePutScriptOptions): StringCommand {
  const mkdir = options.createParents ? sh`mkdir -p ${dirname(options.destPath)} && ` : sh``;
  return sh`t=${options.tempPath}; trap 'rm -f "$t"' EXIT; trap 'exit 129' HUP INT TERM PIPE; ${mkdir}umask 077 && cat > "$t" && chmod ${octalMode(options.mode)} "$t" && mv -f "$t" ${options.destPath}`;
}

/** The script a become user runs to print a file's bytes. */
export function makeBecomeGetScript(srcPath: string): StringCommand {
  return sh`cat ${srcPath}`;
}

/** Remove a temp file left by a killed script. */
export function makeRemoveScript(path: string): StringCommand {
  return sh`rm -f ${path}`;
}
