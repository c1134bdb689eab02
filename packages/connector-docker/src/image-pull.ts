import type { ConnectorLogger } from '@infra/core';
import type Docker from 'dockerode';
import { reasonOf } from './docker-errors.js';

/** One line of the daemon's pull progress (`POST /images/create`). */
interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** Lines a person wants to see; "Downloading 12%" ticks are shown at most once a second. */
const SHOWN_STATUSES =
  /^(Pulling from|Pull complete|Already exists|Digest|Status|Downloaded newer)/;

/**
 * Pull an image through the daemon, logging its progress (layer by layer, and the
 * bytes downloaded at most once a second). Rejects with the daemon's reason.
 */
export async function pullImage(
  docker: Docker,
  image: string,
  platform: string | undefined,
  log: ConnectorLogger,
): Promise<void> {
  const stream = (await docker.pull(image, platform ? { platform } : {})) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    const downloaded = new Map<string, { current: number; total: number }>();
    let lastTick = 0;
    let failure: string | undefined;
    docker.modem.followProgress(
      stream,
      (error: unknown) => {
        if (error) reject(new Error(reasonOf(error)));
        else if (failure !== undefined) reject(new Error(failure));
        else resolve();
      },
      (event: PullEvent) => {
        if (event.error !== undefined || event.errorDetail?.message !== undefined) {
          failure = event.errorDetail?.message ?? event.error;
          return;
        }
        const status = event.status ?? '';
        if (status === 'Downloading' && event.id && event.progressDetail?.total) {
          downloaded.set(event.id, {
            current: event.progressDetail.current ?? 0,
            total: event.progressDetail.total,
          });
          const now = Date.now();
          if (now - lastTick >= 1000) {
            lastTick = now;
            let current = 0;
            let total = 0;
            for (const layer of downloaded.values()) {
              current += layer.current;
              total += layer.total;
            }
            log.info(
              `pulling ${image}: ${(current / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`,
            );
          }
        } else if (SHOWN_STATUSES.test(status)) {
          log.info(`pulling ${image}: ${event.id ? `${event.id}: ` : ''}${status}`);
        }
      },
    );
  });
}
