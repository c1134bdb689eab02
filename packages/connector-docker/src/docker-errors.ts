import { InfraError } from '@infra/core';

/** The container stopped, was removed or paused: this command and the rest of the host's run fail. */
export class ContainerStoppedError extends InfraError {
  readonly containerId: string;

  constructor(containerId: string, message: string, options?: { cause?: unknown }) {
    super('DOCKER_CONTAINER_STOPPED', message, options);
    this.containerId = containerId;
  }
}

/** An Engine API call failed for a reason other than the container (daemon gone, bad request). */
export class DockerApiError extends InfraError {
  readonly statusCode: number | undefined;

  constructor(message: string, statusCode: number | undefined, options?: { cause?: unknown }) {
    super('DOCKER_API_FAILED', message, options);
    this.statusCode = statusCode;
  }
}

/** What dockerode / docker-modem put on the errors they throw. */
export interface EngineApiErrorShape {
  statusCode?: number;
  code?: string;
  message?: string;
  json?: { message?: string } | null;
}

/** The HTTP status of an Engine API error (404, 409, ...), or undefined for a transport error. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as EngineApiErrorShape | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The daemon's own words for an Engine API error, else the transport error's. */
export function reasonOf(error: unknown): string {
  const shaped = error as EngineApiErrorShape | undefined;
  const fromDaemon = shaped?.json?.message;
  if (typeof fromDaemon === 'string' && fromDaemon !== '') return fromDaemon.trim();
  const message = shaped?.message ?? String(error);
  // docker-modem: "(HTTP code 404) no such container - No such container: x "
  const reason = message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  // A HEAD request's error has no body to say why.
  if (reason === '' || reason === '[object Object]' || reason === '{}') {
    return `the daemon answered HTTP ${shaped?.statusCode ?? '?'} without a reason`;
  }
  return reason;
}
