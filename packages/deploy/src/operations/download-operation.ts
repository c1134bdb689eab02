import { createHash } from 'node:crypto';
import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { fileFact } from '../facts/file-facts.js';
import { whichFact } from '../facts/systemd-facts.js';
import { defineOperation, type OperationStep } from '../operation.js';
import {
  attributeCommands,
  commandSteps,
  flag,
  type ModeInput,
  parseMode,
  required,
} from './attributes.js';

export interface DownloadArgs {
  /** An http(s) URL (the host's curl/wget also take ftp:// and file://). */
  src: string;
  /** The file on the host. */
  dest: string;
  /** The expected sha256 (hex): checked after the download; a present file with another hash is downloaded again. */
  sha256?: string;
  /** Download again even when the file is there (and matches `sha256`). */
  force?: boolean | string;
  /**
   * Who downloads: `host` (its curl, else wget), `controller` (this machine fetches
   * the URL and uploads the bytes through the connector: for hosts with neither or
   * without a route to the URL), `auto` (default: `host` when it has curl or wget).
   */
  via?: 'auto' | 'host' | 'controller';
  mode?: ModeInput;
  user?: string;
  group?: string;
  /** Create the destination's missing parent directories (default true). */
  createRemoteDir?: boolean | string;
}

/**
 * The host-side download: fetch to a temporary file beside `dest`, check the
 * sha256, then move it into place, so a failed or wrong download never leaves
 * a partial `dest`.
 */
export function hostDownloadCommand(
  tool: 'curl' | 'wget',
  url: string,
  dest: string,
  sha256: string | undefined,
  createParents: boolean,
): StringCommand {
  const mkdir = createParents ? sh`mkdir -p -- "$(dirname -- ${dest})" && ` : sh``;
  const fetch =
    tool === 'curl' ? sh`curl -fsSL --retry 2 -o "$t" ${url}` : sh`wget -q -O "$t" ${url}`;
  const check =
    sha256 === undefined
      ? sh``
      : sh`h=$(sha256sum -- "$t") && h=\${h%% *} && { [ "$h" = ${sha256} ] || { echo "sha256 mismatch: the download is $h, expected "${sha256} >&2; false; }; } && `;
  return sh`${mkdir}t=${dest}.infra-download-$$ && { ${fetch} && ${check}mv -f -- "$t" ${dest}; } || { rm -f -- "$t"; exit 1; }`;
}

function checkSha256(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const hex = value.toLowerCase().replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new OperationArgumentError(
      'files.download',
      `sha256 ${JSON.stringify(value)} is not a sha256: expected 64 hex digits.`,
    );
  }
  return hex;
}

/** Fetch `url` on this machine; check its sha256 when given. */
async function fetchOnController(url: string, sha256: string | undefined): Promise<Buffer> {
  if (!/^https?:\/\//i.test(url)) {
    throw new OperationArgumentError(
      'files.download',
      `via controller fetches http(s) URLs only, not ${url}: use via: 'host', or files.put for a local file.`,
    );
  }
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`GET ${url} answered ${response.status} ${response.statusText}`);
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (sha256 !== undefined) {
    const got = createHash('sha256').update(body).digest('hex');
    if (got !== sha256) throw new Error(`sha256 mismatch: ${url} is ${got}, expected ${sha256}`);
  }
  return body;
}

export const downloadOperation = defineOperation<DownloadArgs, 'files.download'>({
  name: 'files.download',
  argNames: ['src', 'dest', 'sha256', 'force', 'via', 'mode', 'user', 'group', 'createRemoteDir'],
  description:
    'Download a URL to a file on the host (its curl or wget, or fetched here and uploaded), checked by sha256; set mode, user, group.',
  label: (args) => `files.download ${args.src} -> ${args.dest}`,
  plan: async (context, args) => {
    const url = required('files.download', 'src', args.src);
    const dest = required('files.download', 'dest', args.dest);
    const sha256 = checkSha256(args.sha256);
    const via = args.via ?? 'auto';
    if (!['auto', 'host', 'controller'].includes(via)) {
      throw new OperationArgumentError(
        'files.download',
        `via ${JSON.stringify(via)}: expected 'auto', 'host' or 'controller'.`,
      );
    }
    const wanted = {
      mode: parseMode('files.download', args.mode),
      user: args.user,
      group: args.group,
    };
    const info = await context.fact(fileFact, { path: dest });
    if (info !== null && info.type !== 'file') {
      throw new OperationArgumentError(
        'files.download',
        `${dest} exists as a ${info.type}, not a file: remove it first or choose another path.`,
      );
    }
    const upToDate =
      info !== null &&
      !flag(args.force, false) &&
      (sha256 === undefined || (info.type === 'file' && info.sha256 === sha256));
    if (upToDate) return { steps: commandSteps(attributeCommands(dest, info, wanted)) };

    const createParents = flag(args.createRemoteDir, true);
    let tool: 'curl' | 'wget' | undefined;
    if (via !== 'controller') {
      if (await context.fact(whichFact, { command: 'curl' })) tool = 'curl';
      else if (await context.fact(whichFact, { command: 'wget' })) tool = 'wget';
      else if (via === 'host') {
        throw new OperationArgumentError(
          'files.download',
          `${context.host} has neither curl nor wget: install one, or use via: 'controller'.`,
        );
      }
    }
    const steps: OperationStep[] = [];
    if (tool) {
      steps.push(...commandSteps([hostDownloadCommand(tool, url, dest, sha256, createParents)]));
      if (wanted.mode !== undefined)
        steps.push(...commandSteps(attributeCommands(dest, null, { mode: wanted.mode })));
    } else {
      // The plan pass does not fetch: it only says an upload would happen.
      const body = context.dry ? Buffer.alloc(0) : await fetchOnController(url, sha256);
      steps.push({
        kind: 'upload',
        src: body,
        dest,
        ...(wanted.mode === undefined ? {} : { mode: wanted.mode }),
        createParents,
      });
    }
    steps.push(
      ...commandSteps(attributeCommands(dest, null, { user: wanted.user, group: wanted.group })),
    );
    return { steps };
  },
});
