import { InfraError } from '@infra/core';

/** What went wrong with a request, as a stable code. */
export type RestErrorCode =
  | 'REST_UNAUTHORIZED'
  | 'REST_FORBIDDEN'
  | 'REST_NOT_FOUND'
  | 'REST_BAD_REQUEST'
  | 'REST_PAYLOAD_TOO_LARGE'
  | 'REST_TOO_MANY_REQUESTS'
  | 'REST_SERVER_ERROR'
  | 'REST_HTTP_ERROR'
  | 'REST_TIMEOUT'
  | 'REST_CONNECTION_REFUSED'
  | 'REST_HOST_NOT_FOUND'
  | 'REST_CONNECTION_LOST'
  | 'REST_TLS'
  | 'REST_BAD_RESPONSE'
  | 'REST_ABORTED';

/**
 * A request to the REST API that failed. The message says what happened and
 * where (method and URL, never the API key), and what to check.
 */
export class RestRequestError extends InfraError {
  declare readonly code: RestErrorCode;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** `METHOD URL` of the request (no credentials). */
  readonly request: string;
  /** The message without the request in front. */
  readonly detail: string;

  constructor(
    code: RestErrorCode,
    request: string,
    message: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(
      code,
      `${request}: ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.status = options.status;
    this.request = request;
    this.detail = message;
  }
}

/** What a request was about, for the 404 message. */
export interface RequestSubject {
  /** e.g. `resource "web1"` or `file /etc/hosts`. */
  readonly notFound: string;
  /** What to check when it is not found. */
  readonly notFoundHint?: string;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  507: 'Insufficient Storage',
};

/** Turn a non-2xx answer into an error that says what to do. */
export function httpStatusError(
  request: string,
  status: number,
  serverMessage: string | undefined,
  subject: RequestSubject | undefined,
): RestRequestError {
  const label = `${status}${STATUS_TEXT[status] ? ` ${STATUS_TEXT[status]}` : ''}`;
  const says = serverMessage ? ` The server says: ${serverMessage}` : '';
  const make = (code: RestErrorCode, text: string) =>
    new RestRequestError(code, request, text, { status });
  if (status === 401) {
    return make(
      'REST_UNAUTHORIZED',
      `the API key was refused (${label}).${says} Check this host's api_key: it must be the agent's token (INFRA_AGENT_TOKEN or --token-file).`,
    );
  }
  if (status === 403) {
    return make(
      'REST_FORBIDDEN',
      `forbidden (${label}).${says} The API key may not do this, or the agent may not touch that path.`,
    );
  }
  if (status === 404) {
    const what = subject?.notFound ?? 'the URL';
    return make(
      'REST_NOT_FOUND',
      `${what} not found (${label}).${says}${subject?.notFoundHint ? ` ${subject.notFoundHint}` : ''}`,
    );
  }
  if (status === 413) {
    return make(
      'REST_PAYLOAD_TOO_LARGE',
      `the request is too large for the server (${label}).${says} Send less, or raise the agent's --max-body.`,
    );
  }
  if (status === 429) {
    return make(
      'REST_TOO_MANY_REQUESTS',
      `the server is busy (${label}).${says} Lower the parallelism or raise the agent's --max-concurrent.`,
    );
  }
  if (status >= 500) {
    return make('REST_SERVER_ERROR', `the server failed (${label}).${says}`);
  }
  if (status === 400 || status === 405 || status === 409 || status === 415) {
    return make('REST_BAD_REQUEST', `the server refused the request (${label}).${says}`);
  }
  return make('REST_HTTP_ERROR', `unexpected HTTP status ${label}.${says}`);
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** Turn a socket-level failure into an error that says what happened and where. */
export function connectionError(
  request: string,
  address: string,
  error: NodeJS.ErrnoException,
  context: { timeoutSeconds: number; timedOut: boolean; aborted: boolean; responded: boolean },
): RestRequestError {
  const code = error.code ?? '';
  const make = (restCode: RestErrorCode, text: string) =>
    new RestRequestError(restCode, request, text, { cause: error });
  if (context.aborted) return make('REST_ABORTED', 'aborted by the caller.');
  if (context.timedOut) {
    return make(
      'REST_TIMEOUT',
      `no answer from ${address} for ${context.timeoutSeconds}s, so the request was given up. Check that the agent is alive; raise api_timeout (or the command's timeout) for slower work.`,
    );
  }
  if (code === 'ECONNREFUSED') {
    return make(
      'REST_CONNECTION_REFUSED',
      `connection refused by ${address}: is infra-agent running and listening there? Check api_url.`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return make(
      'REST_HOST_NOT_FOUND',
      `cannot resolve the host of ${address} (${code}). Check api_url.`,
    );
  }
  if (TLS_CODES.has(code)) {
    return make(
      'REST_TLS',
      `the TLS certificate of ${address} is not trusted (${code}: ${error.message}). Set api_ca_file to the agent's certificate or its CA (or, for a test only, api_insecure_tls: true).`,
    );
  }
  if (code === 'EPROTO' || /SSL|TLS|wrong version number/i.test(error.message)) {
    return make(
      'REST_TLS',
      `the TLS handshake with ${address} failed (${error.message}). Does the agent serve HTTPS? Use http:// in api_url for a plain HTTP agent.`,
    );
  }
  if (code.startsWith('HPE_')) {
    return make(
      'REST_BAD_RESPONSE',
      `${address} did not answer in HTTP (${code}). Does the agent serve HTTPS? Use https:// in api_url then.`,
    );
  }
  return make(
    'REST_CONNECTION_LOST',
    context.responded
      ? `the connection to ${address} was lost before the answer was complete (${code || error.message}): the agent may have stopped or crashed.`
      : `the connection to ${address} failed (${code || error.message}): the agent may have stopped or crashed.`,
  );
}
