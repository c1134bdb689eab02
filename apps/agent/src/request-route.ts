import type { IncomingMessage } from 'node:http';
import { decodePathPart } from './http-io.js';
import { HttpError, requireAbsolutePath } from './request-body.js';
import { bearerToken, tokenMatches } from './token.js';

/** The protocol's routes. */
export type Route = 'resource' | 'exec' | 'files' | 'file';

const ROUTE_TEMPLATES: Record<Route, string> = {
  resource: '/resources/{id}',
  exec: '/resources/{id}/exec',
  files: '/resources/{id}/files',
  file: '/resources/{id}/files/{path}',
};

const ALLOWED_METHODS: Record<Route, readonly string[]> = {
  resource: ['GET'],
  exec: ['POST'],
  files: ['POST'],
  file: ['GET', 'PUT'],
};

const RESOURCE_PATH = /^\/resources\/([^/]+)(?:(\/exec)|(\/files)(?:\/(.*))?)?$/s;

/**
 * Which route a request is for, its resource ID and (for `file`) the absolute file
 * path; notes the route template and resource in `state` for the log line. Throws
 * `HttpError` 404 for an unknown path, 405 for a method the route does not take.
 */
export function routeOf(
  req: IncomingMessage,
  state: { route: string; resource: string },
): { route: Route; resourceId: string; filePath?: string } {
  const rawPath = (req.url ?? '/').split('?')[0] as string;
  const match = RESOURCE_PATH.exec(rawPath);
  if (!match) {
    throw new HttpError(
      404,
      'Unknown path: the protocol serves /resources/{id}, /resources/{id}/exec, /resources/{id}/files and /resources/{id}/files/{path}.',
    );
  }
  const route: Route = match[2]
    ? 'exec'
    : match[3]
      ? match[4] === undefined
        ? 'files'
        : 'file'
      : 'resource';
  state.route = ROUTE_TEMPLATES[route];
  const resourceId = decodePathPart(match[1] as string, 'resource ID');
  state.resource = resourceId;
  const allowed = ALLOWED_METHODS[route];
  if (!allowed.includes(req.method ?? '')) {
    throw new HttpError(
      405,
      `${req.method} is not allowed on ${ROUTE_TEMPLATES[route]}: use ${allowed.join(' or ')}.`,
      {
        Allow: allowed.join(', '),
      },
    );
  }
  if (route !== 'file') return { route, resourceId };
  const filePath = requireAbsolutePath(
    decodePathPart(match[4] as string, 'file path'),
    'The file path in the URL',
  );
  return { route, resourceId, filePath };
}

/** Check `Authorization: Bearer <token>` in constant time; `expected` undefined: no auth (--insecure-no-auth). */
export function authenticate(req: IncomingMessage, expected: string | undefined): void {
  if (expected === undefined) return;
  const presented = bearerToken(req.headers.authorization);
  if (presented === undefined || !tokenMatches(presented, expected)) {
    throw new HttpError(
      401,
      presented === undefined
        ? 'Missing token: send the header "Authorization: Bearer <token>".'
        : "Wrong token: the bearer token does not match this agent's.",
      { 'WWW-Authenticate': 'Bearer realm="infra-agent"' },
    );
  }
}
