import type { RawCommandIo, RawExit } from '@infra/connector-utils';
import { CommandTimeoutError } from '@infra/core';
import { parseExecAnswer, parseStreamEvent, type ServerFeatures } from './protocol.js';
import type { RestClient, RestResponse } from './rest-client.js';
import { RestRequestError } from './rest-errors.js';

/** Seconds on top of a command's timeout before the client gives up waiting for the server. */
const EXEC_GRACE_SECONDS = 10;

export interface ExecRequest {
  /** The shell text the server runs with `sh -c`. */
  readonly command: string;
  /** The command as shown to people (secrets masked), for messages. */
  readonly shown: string;
  /** The server's timeout for it. */
  readonly timeoutSeconds: number;
  readonly stdin?: Buffer | undefined;
}

/** Where the exec endpoint is, and what the server can do. */
export interface ExecTarget {
  readonly client: RestClient;
  readonly resourcePath: string;
  readonly features: ServerFeatures;
}

/** Name the command in connection errors: whether it ran is unknown, and it is never retried. */
function commandError(error: unknown, request: ExecRequest): unknown {
  if (!(error instanceof RestRequestError)) return error;
  if (error.code === 'REST_TIMEOUT')
    return new CommandTimeoutError(request.shown, request.timeoutSeconds);
  if (error.code === 'REST_CONNECTION_LOST' && !error.message.includes(request.shown)) {
    return new RestRequestError(
      error.code,
      error.request,
      `${error.detail} The command (${request.shown}) may or may not have finished; it was not retried.`,
      { cause: error },
    );
  }
  return error;
}

/**
 * One exec request, the REST transport of one raw command: streamed (exec-stream)
 * when advertised, else the base JSON answer. Never retried. An abort of
 * `io.signal` drops the request, which makes the agent kill the command.
 */
export async function execOnServer(
  target: ExecTarget,
  request: ExecRequest,
  io: RawCommandIo,
): Promise<RawExit> {
  const { client } = target;
  const path = `${target.resourcePath}/exec`;
  const where = `POST ${client.urlOf(path)}`;
  const streamed = target.features.extensions.has('execStream');
  let response: RestResponse;
  try {
    response = await client.send({
      method: 'POST',
      path,
      json: {
        command: request.command,
        timeout: request.timeoutSeconds,
        ...(request.stdin ? { stdin: request.stdin.toString('base64') } : {}),
      },
      ...(streamed ? { headers: { Accept: 'application/x-ndjson' } } : {}),
      timeoutSeconds: request.timeoutSeconds + EXEC_GRACE_SECONDS,
      signal: io.signal,
      subject: { notFound: `resource ${target.resourcePath.slice('/resources/'.length)}` },
    });
  } catch (error) {
    throw commandError(error, request);
  }
  const bad = (what: string) =>
    new RestRequestError('REST_BAD_RESPONSE', where, `${what} (command: ${request.shown}).`);
  let status: { exitCode: number | null; signal: string | null; timedOut?: boolean };
  try {
    status = await readAnswer();
  } catch (error) {
    throw commandError(error, request);
  }
  if (status.timedOut) throw new CommandTimeoutError(request.shown, request.timeoutSeconds);
  return { exitCode: status.signal === null ? status.exitCode : null, signal: status.signal };

  async function readAnswer() {
    if (response.contentType === 'application/x-ndjson') {
      for await (const line of response.lines()) {
        const event = parseStreamEvent(line);
        if (typeof event === 'string') throw bad(event);
        if (event.type === 'stdout') io.stdout.write(event.data);
        else if (event.type === 'stderr') io.stderr.write(event.data);
        else if (event.type === 'error')
          throw new RestRequestError(
            'REST_SERVER_ERROR',
            where,
            `the server failed while running ${request.shown}: ${event.message}`,
          );
        else if (event.type === 'exit') {
          response.discard();
          return event;
        }
      }
      throw new RestRequestError(
        'REST_CONNECTION_LOST',
        where,
        `the output stream ended before the command finished (no exit event): the agent may have stopped or crashed; ${request.shown} may have been killed or may still be running.`,
      );
    }
    const answer = parseExecAnswer(await response.json());
    if (typeof answer === 'string') throw bad(answer);
    io.stdout.write(Buffer.from(answer.stdout, 'utf8'));
    io.stderr.write(Buffer.from(answer.stderr, 'utf8'));
    return answer;
  }
}
