import type { Writable } from 'node:stream';
import {
  type CommandResult,
  type FileOptions,
  FileTransferError,
  makeBecomeGetScript,
  makeBecomePutScript,
  makeRemoveScript,
} from '@infra/core';
import { runAsRoot, runBecomeScript } from './docker-commands.js';
import type { DockerHost, Session } from './docker-session.js';
import type { SizedSource } from './sized-source.js';

function becomeName(options: FileOptions): string {
  if (options.suUser !== undefined) return `su ${options.suUser}`;
  if (options.sudo) return `sudo${options.sudoUser === undefined ? '' : ` -u ${options.sudoUser}`}`;
  return `doas${options.doasUser === undefined ? '' : ` -u ${options.doasUser}`}`;
}

/** A put as the become user: the file's bytes on the stdin of core's become put script. */
export async function putAsBecomeUser(
  host: DockerHost,
  session: Session,
  source: SizedSource,
  put: {
    action: string;
    dest: string;
    tempPath: string;
    mode: number;
    createParents: boolean;
    options: FileOptions;
  },
): Promise<void> {
  const script = makeBecomePutScript({
    destPath: put.dest,
    tempPath: put.tempPath,
    mode: put.mode,
    createParents: put.createParents,
  });
  let result: CommandResult;
  const stream = source.open();
  try {
    result = await runBecomeScript(host, session, script, put.options, { stdin: stream });
  } catch (error) {
    stream.destroy();
    // SIGKILL (timeout, abort) skips the script's trap: remove the temp file here.
    await runAsRoot(host, session, makeRemoveScript(put.tempPath)).catch(() => undefined);
    throw error;
  }
  stream.destroy();
  if (!result.success) {
    throw new FileTransferError(
      `${put.action} as ${becomeName(put.options)} failed (exit ${result.output.exitCode}): ${result.output.stderr || 'no error output'}`,
    );
  }
}

/** A get as the become user: the file's bytes from the stdout of core's become get script. */
export async function getAsBecomeUser(
  host: DockerHost,
  session: Session,
  src: string,
  sink: Writable,
  action: string,
  options: FileOptions,
): Promise<void> {
  const result = await runBecomeScript(host, session, makeBecomeGetScript(src), options, {
    stdoutSink: sink,
  });
  if (!result.success) {
    throw new FileTransferError(
      `${action} as ${becomeName(options)} failed (exit ${result.output.exitCode}): ${result.output.stderr || 'no error output'}`,
    );
  }
}
