import {
  freeLoopbackPort,
  peerMissing,
  type SshdFixture,
  sshdMissingReason,
  startSshd,
  TEST_USERS,
} from '@infra/connector-testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshConnector } from '../src/index.js';
import { errorOf, sshConnector } from './ssh-host.js';

const skip = peerMissing('sshd', sshdMissingReason());

/** Start a long command and resolve once it has printed its first line. */
function startLongCommand(connector: SshConnector): {
  started: Promise<void>;
  result: Promise<unknown>;
} {
  let onStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    onStarted = resolve;
  });
  const result = connector.runShellCommand('echo started; sleep 30', {
    onOutput: (line) => {
      if (line.line === 'started') onStarted();
    },
  });
  result.catch(() => {});
  return { started, result };
}

/** Resolve when the connector's log has a line matching `pattern`. */
async function logged(messages: { message: string }[], pattern: RegExp): Promise<void> {
  while (!messages.some((m) => pattern.test(m.message)))
    await new Promise((r) => setTimeout(r, 10));
}

describe.skipIf(skip !== undefined)('ssh faults: drops, restarts, retries', () => {
  let sshd: SshdFixture;

  beforeAll(async () => {
    sshd = await startSshd();
  });

  afterAll(async () => {
    await sshd?.dispose();
  });

  it('fails the running command when the connection drops, and reconnects for the next', async () => {
    const { connector } = sshConnector(sshd, { user: TEST_USERS.plain.name });
    try {
      const long = startLongCommand(connector);
      await long.started;
      await sshd.dropConnections();
      const error = await errorOf(long.result);
      expect(error.code).toBe('SSH_CONNECTION_LOST');
      expect(error.message).toContain('dropped');
      expect(error.message).toContain('sleep 30');
      expect((await connector.runShellCommand('echo back')).output.stdout).toBe('back');
    } finally {
      await connector.disconnect();
    }
  });

  it('survives sshd being killed mid-command and brought back, retrying the connection', async () => {
    const { connector, log } = sshConnector(sshd, {
      user: TEST_USERS.plain.name,
      data: {
        ssh_connect_retries: 50,
        ssh_connect_retry_min_delay: 0.02,
        ssh_connect_retry_max_delay: 0.1,
      },
    });
    try {
      const long = startLongCommand(connector);
      await long.started;
      await sshd.stop();
      expect((await errorOf(long.result)).code).toBe('SSH_CONNECTION_LOST');

      const next = connector.runShellCommand('echo reconnected');
      await logged(log.messages, /connect attempt 1 failed \(.*ECONNREFUSED/);
      await sshd.start();
      expect((await next).output.stdout).toBe('reconnected');
    } finally {
      await sshd.start();
      await connector.disconnect();
    }
  });

  it('gives up after ssh_connect_retries, saying how often it tried', async () => {
    const port = await freeLoopbackPort();
    const { connector, log } = sshConnector(sshd, {
      user: TEST_USERS.plain.name,
      data: {
        ssh_port: port,
        ssh_connect_retries: 2,
        ssh_connect_retry_min_delay: 0.01,
        ssh_connect_retry_max_delay: 0.02,
      },
    });
    const error = await errorOf(connector.connect());
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.message).toContain('after 3 attempts');
    expect(log.messages.filter((m) => /retrying/.test(m.message))).toHaveLength(2);
  });

  it('does not retry what a retry cannot fix (a refused login)', async () => {
    const { connector, log } = sshConnector(sshd, {
      user: TEST_USERS.plain.name,
      data: { ssh_key: `${sshd.dir}/host_ed25519`, ssh_connect_retries: 3 },
    });
    const error = await errorOf(connector.connect());
    expect(error.message).toContain('failed: tried publickey');
    expect(log.messages.filter((m) => /retrying/.test(m.message))).toHaveLength(0);
  });

  it('disconnects idempotently, and connects again when used after', async () => {
    const { connector } = sshConnector(sshd, { user: TEST_USERS.plain.name });
    await connector.disconnect();
    await connector.connect();
    await connector.disconnect();
    await connector.disconnect();
    expect((await connector.runShellCommand('echo again')).output.stdout).toBe('again');
    await connector.disconnect();
  });
});
