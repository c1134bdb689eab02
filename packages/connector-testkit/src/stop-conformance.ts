import { sh } from '@infra/core';
import { describe, expect, it } from 'vitest';
import { type ConformanceContext, errorOf, processGoneCommand } from './conformance-context.js';

/**
 * The one abort/timeout rule and the one retry policy: an abort rejects with
 * `signal.reason` and kills the command; a timeout rejects with a
 * `CommandTimeoutError` naming it; `retries` runs a failed or timed-out command
 * again, never an aborted one, never a success.
 */
export function describeStopAndRetries(context: ConformanceContext): void {
  describe('abort, timeout and retries', () => {
    it('rejects an abort with signal.reason and kills the remote command', async () => {
      const pidFile = `${context.dir()}/abort.pid`;
      const controller = new AbortController();
      const reason = new Error('deploy cancelled by the conformance suite');
      const error = await errorOf(
        context.run(sh`sleep 60 & echo $! > ${pidFile}; echo started; wait`, {
          signal: controller.signal,
          onOutput: (line) => {
            if (line.line === 'started') controller.abort(reason);
          },
        }),
      );
      expect(error).toBe(reason);
      const gone = await context.run(processGoneCommand(pidFile));
      expect(gone.output.stderr).toBe('');
      expect(gone.success).toBe(true);
    });

    it('rejects at once with signal.reason when the signal is already aborted, running nothing', async () => {
      const marker = `${context.dir()}/never-ran`;
      const reason = new Error('aborted before the start');
      const error = await errorOf(
        context.run(sh`touch ${marker}`, { signal: AbortSignal.abort(reason) }),
      );
      expect(error).toBe(reason);
      expect((await context.run(sh`test -e ${marker}`)).success).toBe(false);
    });

    it('rejects a timeout with a CommandTimeoutError naming the command', async () => {
      const error = (await errorOf(context.run('sleep 30', { timeout: 0.5 }))) as Error & {
        code?: string;
        command?: string;
        timeoutSeconds?: number;
      };
      expect(error.name).toBe('CommandTimeoutError');
      expect(error.code).toBe('COMMAND_TIMEOUT');
      expect(error.command).toContain('sleep 30');
      expect(error.message).toContain('sleep 30');
      expect(error.timeoutSeconds).toBe(0.5);
    });

    it('retries a failing command up to `retries` more times, and stops at the first success', async () => {
      const counter = `${context.dir()}/retry-count`;
      const count = sh`n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}`;
      const thirdWins = await context.run(sh`${count}; [ $n -ge 3 ]`, {
        retries: 5,
        retryDelay: 0,
      });
      expect(thirdWins.success).toBe(true);
      expect((await context.runOk(sh`cat ${counter}`)).output.stdout).toBe('3');

      await context.runOk(sh`rm -f ${counter}`);
      const neverWins = await context.run(sh`${count}; exit 4`, { retries: 2, retryDelay: 0 });
      expect(neverWins.success).toBe(false);
      expect(neverWins.output.exitCode).toBe(4);
      expect((await context.runOk(sh`cat ${counter}`)).output.stdout).toBe('3');

      await context.runOk(sh`rm -f ${counter}`);
      const firstWins = await context.run(sh`${count}`, { retries: 3, retryDelay: 0 });
      expect(firstWins.success).toBe(true);
      expect((await context.runOk(sh`cat ${counter}`)).output.stdout).toBe('1');
    });

    it('retries a command that timed out', async () => {
      const counter = `${context.dir()}/retry-timeout-count`;
      const result = await context.run(
        sh`n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; [ $n -ge 2 ] || sleep 30; echo done`,
        { retries: 1, retryDelay: 0, timeout: 1 },
      );
      expect(result.success).toBe(true);
      expect(result.output.stdout).toBe('done');
      expect((await context.runOk(sh`cat ${counter}`)).output.stdout).toBe('2');
    });

    it('never retries an aborted command', async () => {
      const counter = `${context.dir()}/retry-abort-count`;
      const controller = new AbortController();
      const reason = new Error('stop, do not retry');
      const error = await errorOf(
        context.run(
          sh`n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n+1)) > ${counter}; echo started; sleep 30`,
          {
            retries: 3,
            signal: controller.signal,
            onOutput: (line) => {
              if (line.line === 'started') controller.abort(reason);
            },
          },
        ),
      );
      expect(error).toBe(reason);
      expect((await context.runOk(sh`cat ${counter}`)).output.stdout).toBe('1');
    });
  });
}
