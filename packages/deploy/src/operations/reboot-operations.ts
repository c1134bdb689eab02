import { sleep } from '@infra/connector-utils';
import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { listeningPortsFact } from '../facts/probe-facts.js';
import { defineOperation, type StepContext } from '../operation.js';
import { commandSteps } from './attributes.js';

/** A number of seconds (ad hoc text too), at least `min`; the default when not given. */
export function secondsOf(
  operation: string,
  name: string,
  value: number | string | undefined,
  fallback: number,
  min = 0,
): number {
  if (value === undefined || value === '') return fallback;
  const seconds = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(seconds) || seconds < min) {
    throw new OperationArgumentError(
      operation,
      `${name} ${JSON.stringify(value)} is not a number of seconds: expected a number >= ${min}, e.g. ${name}=5.`,
    );
  }
  return seconds;
}

/**
 * What tells one boot from the next: the kernel's boot id, and when PID 1 started
 * (field 22 of /proc/1/stat, in ticks since boot): a container's restart changes
 * the second, a machine's reboot both. Empty where there is no /proc.
 */
const BOOT_MARKER = sh`cat /proc/sys/kernel/random/boot_id 2>/dev/null; sed 's/.*) //' /proc/1/stat 2>/dev/null | cut -d' ' -f20; true`;

async function bootMarker(context: StepContext): Promise<string> {
  const result = await context.runCommand(BOOT_MARKER);
  return result.success ? result.output.stdout.trim() : '';
}

export interface RebootArgs {
  /** Seconds to wait after `reboot` before the first reconnect attempt (pyinfra's default 10). */
  delay?: number | string;
  /** Seconds between reconnect attempts (default 1). */
  interval?: number | string;
  /** Seconds from `reboot` until the host must answer again (default 300). */
  rebootTimeout?: number | string;
}

/** `reboot` itself failed (not the session dropping under it). */
class RebootCommandError extends Error {}

/** How long `reboot` may take to return before the host is taken to be going down. */
const REBOOT_COMMAND_WAIT_SECONDS = 10;

/** Exit codes of a `reboot` whose session was cut by the shutdown: killed, or hung up. */
const CUT_OFF = new Set([129, 130, 137, 143, 255]);

/** Reboot, then reconnect through the same connector until the host answers from a new boot. */
async function rebootAndReconnect(
  context: StepContext,
  timing: { delay: number; interval: number; timeout: number },
): Promise<void> {
  const before = await bootMarker(context);
  const reboot = context.runCommand(sh`reboot`).then((result) => {
    const { exitCode } = result.output;
    if (!result.success && exitCode !== null && !CUT_OFF.has(exitCode)) {
      throw new RebootCommandError(
        `reboot exited with ${exitCode}: ${(result.output.stderr || result.output.stdout).trim() || 'no output'} (does it need _sudo?)`,
      );
    }
  });
  // A host that goes down mid-command may never close the session: stop waiting for it.
  const waited = new AbortController();
  const unanswered = sleep(
    REBOOT_COMMAND_WAIT_SECONDS,
    AbortSignal.any([context.signal, waited.signal]),
  );
  try {
    await Promise.race([reboot, unanswered]);
  } catch (error) {
    // The connection dropping under a rebooting host is what a reboot looks like.
    if (error instanceof RebootCommandError || context.signal.aborted) throw error;
  } finally {
    waited.abort();
    unanswered.catch(() => {});
    reboot.catch(() => {});
  }
  const deadline = Date.now() + timing.timeout * 1000;
  await context.connector.disconnect().catch(() => {});
  if (timing.delay > 0) await sleep(timing.delay, context.signal);
  let last = 'no attempt yet';
  for (;;) {
    context.signal.throwIfAborted();
    try {
      await context.connector.connect();
      const after = await bootMarker(context);
      // Still the old boot (the shutdown has not begun): not back yet.
      if (before === '' || after !== before) return;
      last = 'the host still runs the boot it had before the reboot';
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await context.connector.disconnect().catch(() => {});
    if (Date.now() + timing.interval * 1000 > deadline) {
      throw new Error(
        `the host did not come back within rebootTimeout ${timing.timeout}s (last attempt: ${last})`,
      );
    }
    await sleep(timing.interval, context.signal);
  }
}

export const rebootOperation = defineOperation<RebootArgs, 'server.reboot'>({
  name: 'server.reboot',
  argNames: ['delay', 'interval', 'rebootTimeout'],
  description:
    'Reboot the host, then reconnect through the same connector until it answers from a new boot (boot id / PID 1 start), within rebootTimeout. Always a change.',
  label: () => 'server.reboot',
  plan: async (_context, args) => {
    const timing = {
      delay: secondsOf('server.reboot', 'delay', args.delay, 10),
      interval: secondsOf('server.reboot', 'interval', args.interval, 1, 0.05),
      timeout: secondsOf('server.reboot', 'rebootTimeout', args.rebootTimeout, 300, 0.05),
    };
    return {
      steps: [
        {
          kind: 'function' as const,
          description: `reboot and reconnect (delay ${timing.delay}s, every ${timing.interval}s, within ${timing.timeout}s)`,
          run: (context: StepContext) => rebootAndReconnect(context, timing),
        },
      ],
    };
  },
});

export interface WaitArgs {
  /** The TCP port to wait for (listening on any address). */
  port: number | string;
  /** Seconds between checks (default 1). */
  interval?: number | string;
  /** Give up (an error) after this many seconds (default 300). */
  timeout?: number | string;
}

export const waitOperation = defineOperation<WaitArgs, 'server.wait'>({
  name: 'server.wait',
  argNames: ['port', 'interval', 'timeout'],
  description:
    'Wait until a TCP port is listening on the host (checked every interval, up to timeout). No change when it already is.',
  label: (args) => `server.wait ${args.port}`,
  plan: async (context, args) => {
    const port = Number(args.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new OperationArgumentError(
        'server.wait',
        `port ${JSON.stringify(args.port)} is not a TCP port: expected a whole number from 1 to 65535.`,
      );
    }
    const interval = secondsOf('server.wait', 'interval', args.interval, 1, 0.05);
    const timeout = secondsOf('server.wait', 'timeout', args.timeout, 300, 0);
    const listening = await context.fact(listeningPortsFact, {});
    if (listening.includes(port)) return { steps: [] };
    const tries = Math.max(1, Math.ceil(timeout / interval));
    const hex = port.toString(16).toUpperCase().padStart(4, '0');
    const probe = sh`if [ -r /proc/net/tcp ]; then awk -v p=${hex} 'FNR > 1 && $4 == "0A" { n = split($2, a, ":"); if (a[n] == p) f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null; else netstat -an | grep LISTEN | grep -q -e ${`[.:]${port}[[:space:]]`}; fi`;
    return {
      steps: commandSteps([
        sh`i=0; until ${probe}; do i=$((i + 1)); if [ "$i" -ge ${String(tries)} ]; then echo ${`port ${port} is not listening after ${timeout}s`} >&2; exit 1; fi; sleep ${String(interval)}; done`,
      ]),
    };
  },
});
