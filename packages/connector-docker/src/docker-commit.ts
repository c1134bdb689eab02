import { DockerApiError, reasonOf, statusOf } from './docker-errors.js';
import { type DockerHost, type Session, shortId } from './docker-session.js';

/**
 * At disconnect: commit the container to a new image when the session commits and
 * something ran that could change it. Returns the new image's ID (`sha256:...`),
 * undefined when nothing was committed.
 */
export async function commitIfChanged(
  host: DockerHost,
  session: Session,
): Promise<string | undefined> {
  if (!session.commit) return undefined;
  if (!session.changed) {
    host.log.info(
      `Nothing ran in ${session.containerName} that could change it (only facts, or nothing): no image committed.`,
    );
    return undefined;
  }
  const tag = host.data.docker_commit_tag;
  const query: Record<string, string | boolean> = {
    container: session.container.id,
    pause: true,
    comment: `infra deploy of ${host.name}`,
  };
  if (tag !== undefined && tag !== '') {
    const colon = tag.lastIndexOf(':');
    const hasTag = colon > tag.lastIndexOf('/');
    query.repo = hasTag ? tag.slice(0, colon) : tag;
    query.tag = hasTag ? tag.slice(colon + 1) : 'latest';
  }
  const result = (await session.container.commit({
    _query: query,
    // The image's own entrypoint and command, not the lifeline ([] keeps the daemon from filling it in).
    ...(session.imageConfig ? { _body: session.imageConfig } : {}),
  })) as { Id: string };
  (host.log.notice ?? host.log.info).call(
    host.log,
    `docker build complete, image ID: ${shortId(result.Id)}${tag ? ` (tagged ${tag})` : ''}`,
  );
  return result.Id;
}

/**
 * What a failed commit means: a container that is gone (404 removed, 409 dead or
 * being removed) is a warning, the commands that ran have failed already; any
 * other failure is a `DockerApiError` to throw.
 */
export function commitFailure(
  host: DockerHost,
  session: Session,
  error: unknown,
): DockerApiError | undefined {
  if (statusOf(error) === 404 || statusOf(error) === 409) {
    host.log.warn(
      `Container ${session.containerName} is gone (${reasonOf(error)}): nothing was committed.`,
    );
    return undefined;
  }
  return new DockerApiError(
    `Could not commit container ${session.containerName} on ${session.daemon.rules.daemonName} at ${session.daemon.description}: ${reasonOf(error)}`,
    statusOf(error),
    { cause: error },
  );
}
