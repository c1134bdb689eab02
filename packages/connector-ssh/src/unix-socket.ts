import type { Duplex } from 'node:stream';
import { ConnectError } from '@infra/core';
import type { ClientChannel } from 'ssh2';
import type { SshConnection } from './ssh-connection.js';
import { describeEndpoint } from './ssh-login.js';

/** RFC 4254 §5.1: why a server refused to open a channel. */
const OPEN_ADMINISTRATIVELY_PROHIBITED = 1;
const OPEN_CONNECT_FAILED = 2;

function refusal(connection: SshConnection, path: string, error: unknown): string {
  const where = describeEndpoint(connection.endpoint);
  const user = connection.endpoint.username;
  const said = (error as Error).message.replace(/^\(SSH\) /, '');
  const reason = (error as { reason?: unknown }).reason;
  if (reason === OPEN_ADMINISTRATIVELY_PROHIBITED) {
    return `sshd refused to forward to the unix socket ${path} on ${where} (${said}): allow it for ${user} in its sshd_config (AllowStreamLocalForwarding yes, no DisableForwarding).`;
  }
  if (reason === OPEN_CONNECT_FAILED) {
    // OpenSSH answers a missing socket, one the user may not open, and forwarding
    // turned off with the same reason; its log (LogLevel VERBOSE) says which.
    return `sshd could not open the unix socket ${path} for ${user} on ${where} (${said}): check that the socket exists there, that ${user} may use it (e.g. is in the group owning it), and that sshd allows stream-local forwarding (AllowStreamLocalForwarding).`;
  }
  return `could not open a channel to the unix socket ${path} on ${where}: ${said}`;
}

/**
 * A byte stream to a unix socket on the host, on a `direct-streamlocal@openssh.com`
 * channel of the connection (what `ssh -L local:/remote.sock` uses). Such channels
 * are forwardings, not sessions: sshd's `MaxSessions` does not count them, so they
 * do not take a slot of the connection's channel limiter.
 */
export function openUnixSocketChannel(
  label: string,
  connection: SshConnection,
  path: string,
  signal?: AbortSignal,
): Promise<Duplex> {
  if (!path.startsWith('/')) {
    return Promise.reject(
      new ConnectError(
        label,
        `the unix socket path ${JSON.stringify(path)} is not absolute: expected a path such as /var/run/docker.sock.`,
      ),
    );
  }
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (error: Error | undefined, channel?: ClientChannel) => {
      signal?.removeEventListener('abort', onAbort);
      if (settled) {
        // Aborted while the server was opening it: nobody wants the channel now.
        channel?.destroy();
        return;
      }
      settled = true;
      if (error || !channel) {
        reject(new ConnectError(label, refusal(connection, path, error), { cause: error }));
        return;
      }
      resolve(channel);
    };
    try {
      connection.client.openssh_forwardOutStreamLocal(path, done);
    } catch (error) {
      // ssh2 throws at once when the connection's socket is gone.
      done(
        new Error(
          `the connection to ${describeEndpoint(connection.endpoint)} is closed: ${(error as Error).message}`,
        ),
      );
    }
  });
}
