import type { NamesData, ViaTarget } from '@infra/core';
import { containerNamesData, EngineApiConnector } from './docker-connector.js';
import { PODMAN_DATA_META, type PodmanData } from './docker-data.js';
import {
  type DockerDaemonAddress,
  daemonViaTarget,
  PODMAN_ADDRESS_RULES,
  resolveDaemonAddress,
} from './docker-host.js';

/**
 * Podman containers through podman's Docker-compatible API service (`podman
 * system service`, or the `podman.socket` unit), with the docker connector's code
 * and keys: `@podman:IMAGE` builds an image, `@podman:CONTAINER` works in an
 * existing container. The service is `podman_host`, else `CONTAINER_HOST` (as
 * `podman --remote` reads it), else the rootful socket; `ssh://user@host/path/podman.sock`
 * is that socket on another host, through the `@ssh` connection the run opens.
 */
export class PodmanConnector extends EngineApiConnector<PodmanData> {
  static override readonly handlesExecution = true;
  static override readonly dataMeta = PODMAN_DATA_META;
  static override readonly description =
    "Podman containers through podman's Docker-compatible API service, locally or podman_host=ssh://user@host/run/podman/podman.sock through @ssh.";

  static override makeNamesData(arg: string | undefined): NamesData[] {
    return containerNamesData('podman', arg);
  }

  /** `podman_host=ssh://...` (or `CONTAINER_HOST`): the `@ssh` host its socket is reached through. */
  static viaOf(hostData: Readonly<Record<string, unknown>>): ViaTarget | undefined {
    return daemonViaTarget(hostData, PODMAN_ADDRESS_RULES);
  }

  /**
   * Podman's archive API reads its path as a glob (`[x]` matches `x`; `*`, `?`,
   * `\\` are not taken as they are written): such paths go through commands.
   */
  protected override archiveReaches(path: string): boolean {
    return !/[*?[\\]/.test(path);
  }

  protected override resolveDaemon(): DockerDaemonAddress {
    return resolveDaemonAddress(this.host.data.podman_host, PODMAN_ADDRESS_RULES);
  }
}
