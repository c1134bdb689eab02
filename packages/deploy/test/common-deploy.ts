import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DeployFunction } from '../src/index.js';

export const DOWNLOAD_CONTENT = Buffer.from('downloaded bytes\n\0\xff binary too\n', 'latin1');
export const DOWNLOAD_SHA = createHash('sha256').update(DOWNLOAD_CONTENT).digest('hex');

/** Every file operation and the always-changing server ones, under `root` on the host. */
export function filesDeploy(options: {
  root: string;
  /** A local file to put. */
  src: string;
  /** A local folder files.get writes into (a file per host). */
  fetched: string;
  downloadUrl: string;
  via?: 'auto' | 'host' | 'controller';
}): DeployFunction {
  const { root } = options;
  return async ({ ops, host }) => {
    await ops.files.directory({ path: root, mode: '750' });
    await ops.files.put({ src: options.src, dest: `${root}/put.txt`, mode: '640' });
    await ops.files.template({
      template: 'host=<%= it.host.name %> port=<%= it.data.port ?? 80 %>\n',
      dest: `${root}/sub/tpl.txt`,
    });
    await ops.files.file({ path: `${root}/empty`, mode: '600' });
    await ops.files.link({ path: `${root}/link`, target: 'put.txt' });
    await ops.files.line({ path: `${root}/lines.txt`, line: '^port=', replace: 'port=80' });
    await ops.files.download({
      src: options.downloadUrl,
      dest: `${root}/dl/file.bin`,
      sha256: DOWNLOAD_SHA,
      mode: '600',
      ...(options.via ? { via: options.via } : {}),
    });
    await ops.files.get({
      src: `${root}/put.txt`,
      dest: join(options.fetched, `${host.name.replace(/[^A-Za-z0-9]/g, '_')}.txt`),
    });
  };
}

export const FILES_OPERATIONS = [
  'files.directory',
  'files.put',
  'files.template',
  'files.file',
  'files.link',
  'files.line',
  'files.download',
  'files.get',
];
