import { Writable } from 'node:stream';
import { runOnChannel } from './channel-command.js';
import { remoteCommandLine } from './remote-command-line.js';
import type { SshConnection } from './ssh-connection.js';

const NEVER = new AbortController().signal;

/** Run `line` on an exec channel outside the connection's channel count; false when it could not open. */
function execOutsideLimiter(connection: SshConnection, line: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    try {
      connection.client.exec(line, (error, channel) => {
        if (error) {
          resolve(false);
          return;
        }
        channel.on('data', () => {});
        channel.stderr.on('data', () => {});
        channel.once('close', () => resolve(true));
        channel.end();
      });
    } catch {
      resolve(false);
    }
  });
}

/**
 * SIGKILL a process group as the login user, on an exec channel of its own;
 * never fails. The session keeps its channel (and its slot) until the group is
 * dead, since sshd counts the session until its command ends: the kill's channel
 * is opened beside it, outside the count. Refused (sshd's `MaxSessions` reached),
 * the session's channel closes and the kill waits for a slot ahead of the rest.
 */
export async function killProcessGroup(
  connection: SshConnection,
  pid: number,
  closeSession: () => void,
): Promise<void> {
  if (connection.closed) return;
  const script = `kill -9 -${pid} 2>/dev/null; exit 0`;
  const command = { shell: 'sh', script, hasSecrets: false, shownCommand: script };
  if (await execOutsideLimiter(connection, remoteCommandLine(command).line)) return;
  closeSession();
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await runOnChannel(
    connection,
    command,
    { stdout: sink, stderr: sink, signal: NEVER },
    { first: true },
  ).catch(() => undefined);
}
