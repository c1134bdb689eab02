import { createHash } from 'node:crypto';
import { sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { fileFact } from '../facts/file-facts.js';
import { dnfPackagesFact } from '../facts/package-facts.js';
import { rpmFileFact } from '../facts/rpm-file-facts.js';
import { defineOperation, type OperationStep } from '../operation.js';
import { fetchUrl } from './apt-key-operations.js';
import { commandSteps, flag, required } from './attributes.js';
import { planContent } from './files-operations.js';

export interface RpmRepoArgs {
  /** The repository id (file `/etc/yum.repos.d/SRC.repo`), or an http(s) URL of a `.repo` file to install as is. */
  src: string;
  /** Present (default) or removed. */
  present?: boolean | string;
  baseurl?: string;
  /** The repository's `name=` (default: src). */
  description?: string;
  /** `enabled=` (default true). */
  enabled?: boolean | string;
  /** `gpgcheck=` (default true). */
  gpgcheck?: boolean | string;
  /** `gpgkey=`: a URL or `file:///etc/pki/rpm-gpg/...`. */
  gpgkey?: string;
}

/** The `.repo` text for `args` (src an id, not a URL). */
export function repoFileText(operation: string, args: RpmRepoArgs): string {
  const id = args.src;
  if (!/^[\w.:-]+$/.test(id)) {
    throw new OperationArgumentError(
      operation,
      `src ${JSON.stringify(id)} is not a repository id: expected letters, digits and . _ - : (or an http(s) URL of a .repo file).`,
    );
  }
  const baseurl = required(operation, 'baseurl', args.baseurl);
  const lines = [
    `[${id}]`,
    `name=${args.description ?? id}`,
    `baseurl=${baseurl}`,
    `enabled=${flag(args.enabled, true) ? 1 : 0}`,
    `gpgcheck=${flag(args.gpgcheck, true) ? 1 : 0}`,
  ];
  if (args.gpgkey) lines.push(`gpgkey=${args.gpgkey}`);
  for (const line of lines) {
    if (/[\n\r]/.test(line)) {
      throw new OperationArgumentError(operation, `${line.split('=')[0]} must be one line.`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function repoOperation<const TName extends string>(name: TName) {
  return defineOperation<RpmRepoArgs, TName>({
    name,
    argNames: ['src', 'present', 'baseurl', 'description', 'enabled', 'gpgcheck', 'gpgkey'],
    description:
      'A repository file in /etc/yum.repos.d: written from baseurl and friends, or a .repo URL fetched on the controller.',
    label: (args) => `${name} ${args.src}`,
    plan: async (context, args) => {
      const src = required(name, 'src', args.src);
      const url = /^https?:\/\//i.test(src);
      const file = url
        ? (
            src
              .replace(/[?#].*$/, '')
              .split('/')
              .pop() ?? ''
          ).replace(/[^\w.-]/g, '')
        : `${src}.repo`;
      if (!file.endsWith('.repo')) {
        throw new OperationArgumentError(
          name,
          `src ${src} is a URL that does not name a .repo file.`,
        );
      }
      const path = `/etc/yum.repos.d/${file}`;
      if (!flag(args.present, true)) {
        const info = await context.fact(fileFact, { path });
        return { steps: info === null ? [] : commandSteps([sh`rm -f ${path}`]) };
      }
      const content = url ? await fetchUrl(name, src) : Buffer.from(repoFileText(name, args));
      return planContent(name, context, content, path, { mode: 0o644 }, true);
    },
  });
}

export const dnfRepoOperation = repoOperation('dnf.repo');
export const yumRepoOperation = repoOperation('yum.repo');

export interface RpmArgs {
  /** An http(s) URL (fetched here, kept in /var/cache/infra/rpms on the host) or an .rpm path on the host. */
  src: string;
  /** Installed (default) or removed. */
  present?: boolean | string;
}

export const RPM_CACHE = '/var/cache/infra/rpms';

function rpmOperation<const TName extends string>(name: TName, tool: 'dnf' | 'yum') {
  return defineOperation<RpmArgs, TName>({
    name,
    argNames: ['src', 'present'],
    description: `Install (${tool} install FILE, with its dependencies) or remove the package in an .rpm from a URL or a path on the host, by its name and version.`,
    label: (args) => `${name} ${args.src}`,
    plan: async (context, args) => {
      const src = required(name, 'src', args.src);
      const present = flag(args.present, true);
      const url = /^https?:\/\//i.test(src);
      const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
      const path = url ? `${RPM_CACHE}/${hash}.rpm` : src;
      const info = await context.fact(rpmFileFact, { path });
      const steps: OperationStep[] = [];
      if (info === null) {
        if (!url) {
          if (!present) return { steps: [] };
          throw new OperationArgumentError(
            name,
            `${src} is not a file on ${context.host}: give an .rpm path on the host or an http(s) URL.`,
          );
        }
        steps.push({
          kind: 'upload',
          src: await fetchUrl(name, src),
          dest: path,
          mode: 0o644,
          createParents: true,
        });
        steps.push(
          ...commandSteps([
            present
              ? sh`${tool} -y install ${path}`
              : sh`n=$(rpm -qp --queryformat '%{NAME}' ${path}) && if rpm -q "$n" >/dev/null 2>&1; then ${tool} -y remove "$n"; fi`,
          ]),
        );
        return { steps };
      }
      const installed = (await context.fact(dnfPackagesFact, {}))[info.name] ?? [];
      if (present && !installed.includes(info.version)) {
        steps.push(...commandSteps([sh`${tool} -y install ${path}`]));
      } else if (!present && installed.length > 0) {
        steps.push(...commandSteps([sh`${tool} -y remove ${info.name}`]));
      }
      return { steps };
    },
  });
}

export const dnfRpmOperation = rpmOperation('dnf.rpm', 'dnf');
export const yumRpmOperation = rpmOperation('yum.rpm', 'yum');
