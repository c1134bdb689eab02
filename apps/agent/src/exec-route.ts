import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AgentConfig } from './agent-server.js';
import { type CommandOutcome, outputText, type RunningCommand } from './command-runner.js';
import { notStartedMessage, startCommand } from './command-start.js';
import { sendJson } from './http-io.js';
import {
  decodeBase64Field,
  HttpError,
  optionalEnv,
  parseJsonObject,
  readBody,
  requirePositiveNumber,
  requireString,
} from './request-body.js';

/** What `POST /resources/{id}/exec` needs of the server. */
export interface ExecContext {
  readonly config: AgentConfig;
  /** Commands under way: counted against --max-concurrent, killed at shutdown. */
  readonly running: Set<RunningCommand>;
  /** Where commands start (the agent user's home). */
  readonly cwd: string;
}

/**
 * `POST /resources/{id}/exec`: run the command in a process group of its own and
 * answer its outcome as JSON, or stream it as NDJSON (`Accept: application/x-ndjson`)
 * at the client's pace. A client that goes away takes its command with it.
 */
export async function serveExec(
  req: IncomingMessage,
  res: ServerResponse,
  agent: ExecContext,
): Promise<void> {
  const body = parseJsonObject(await readBody(req, agent.config.maxBodyBytes));
  const command = requireString(body, 'command');
  const timeoutSeconds = requirePositiveNumber(body, 'timeout');
  if (timeoutSeconds > agent.config.maxTimeoutSeconds) {
    throw new HttpError(
      400,
      `Field "timeout" is ${timeoutSeconds}s, over this agent's limit of ${agent.config.maxTimeoutSeconds}s (--max-timeout).`,
    );
  }
  const stdin =
    body.stdin === undefined || body.stdin === null
      ? undefined
      : decodeBase64Field(requireString(body, 'stdin'), 'stdin');
  const env = optionalEnv(body, 'env');
  if (agent.running.size >= agent.config.maxConcurrentCommands) {
    throw new HttpError(
      429,
      `This agent is already running ${agent.running.size} commands, its limit (--max-concurrent ${agent.config.maxConcurrentCommands}). Try again when one has finished.`,
      { 'Retry-After': '1' },
    );
  }
  const streamed = /application\/x-ndjson/i.test(req.headers.accept ?? '');
  const writeEvent = (event: object): boolean => res.write(`${JSON.stringify(event)}\n`);
  // Started before any answer: a command that cannot start (too long: E2BIG) gets
  // an error status, never a 200 stream that ends without saying it did not run.
  const running = startCommand({
    command,
    timeoutSeconds,
    ...(stdin ? { stdin } : {}),
    ...(env ? { env } : {}),
    cwd: agent.cwd,
    baseEnv: agent.config.commandEnv,
    ...(streamed
      ? {
          onChunk: (stream, chunk) => writeEvent({ type: stream, data: chunk.toString('base64') }),
        }
      : { maxOutputBytes: agent.config.maxOutputBytes }),
  });
  if (streamed) {
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    res.flushHeaders();
  }
  agent.running.add(running);
  res.on('drain', () => running.resume());
  // A client that goes away (Ctrl-C, its own timeout) takes its command with it.
  res.on('close', () => {
    if (!res.writableFinished) running.kill();
  });
  let outcome: CommandOutcome;
  try {
    outcome = await running.done;
  } catch (error) {
    const message = notStartedMessage(error);
    if (!streamed) throw new HttpError(500, message);
    res.end(`${JSON.stringify({ type: 'error', message })}\n`);
    return;
  } finally {
    agent.running.delete(running);
  }
  const status = {
    exit_code: outcome.exitCode,
    signal: outcome.signal,
    timed_out: outcome.timedOut,
  };
  if (streamed) {
    res.end(`${JSON.stringify({ type: 'exit', ...status })}\n`);
    return;
  }
  const limit = agent.config.maxOutputBytes;
  sendJson(res, 200, {
    exit_code: outcome.exitCode,
    stdout: outputText(outcome.stdout, outcome.stdoutTruncated, 'stdout', limit),
    stderr: outputText(outcome.stderr, outcome.stderrTruncated, 'stderr', limit),
    signal: outcome.signal,
    timed_out: outcome.timedOut,
    truncated: outcome.stdoutTruncated || outcome.stderrTruncated,
  });
}
