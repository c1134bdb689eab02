import { readFile } from 'node:fs/promises';
import { type StringCommand, sh } from '@infra/core';
import { OperationArgumentError } from '../errors.js';
import { dnfPackagesFact, dnfUpgradableFact } from '../facts/package-facts.js';
import { rpmKeysFact } from '../facts/rpm-file-facts.js';
import { defineOperation } from '../operation.js';
import { fetchUrl } from './apt-key-operations.js';
import { commandSteps, required } from './attributes.js';
import { armor, binaryKey, isArmored, keysOf } from './openpgp-keys.js';
import { type PackageCommandsPlan, packagesOperation, splitDnfSpec } from './package-operations.js';

/** `yum makecache` / `install` / `update` / `remove`, as yum.packages sends them. */
export function yumCommands(plan: PackageCommandsPlan): StringCommand[] {
  const commands: StringCommand[] = [];
  if (plan.update) commands.push(sh`yum -y makecache`);
  if (plan.install.length > 0) commands.push(sh`yum -y install ${[...plan.install]}`);
  if (plan.upgrade.length > 0) commands.push(sh`yum -y update ${[...plan.upgrade]}`);
  if (plan.remove.length > 0) commands.push(sh`yum -y remove ${[...plan.remove]}`);
  return commands;
}

export const yumPackagesOperation = packagesOperation({
  name: 'yum.packages',
  description:
    'dnf.packages with yum: install, upgrade (latest) or remove RPM packages; `update` runs yum makecache first.',
  splitSpec: splitDnfSpec,
  installed: dnfPackagesFact,
  upgradable: (context, packages) => context.fact(dnfUpgradableFact, { packages }),
  commands: yumCommands,
});

export interface RpmKeyArgs {
  /** The key: a local file, an http(s) URL, or the armored key itself. */
  src: string;
}

/** rpm names an imported key `gpg-pubkey-VERSION-RELEASE`; VERSION is the key id's last 8 hex digits. */
export function rpmKeyVersion(keyId: string): string {
  return keyId.slice(-8).toLowerCase();
}

function keyOperation<const TName extends string>(name: TName) {
  return defineOperation<RpmKeyArgs, TName>({
    name,
    argNames: ['src'],
    description:
      'Import a signing key into the rpm database (rpm --import), when no gpg-pubkey of its key id is there.',
    label: (args) => `${name} ${args.src?.includes('BEGIN PGP') ? '(key)' : args.src}`,
    plan: async (context, args) => {
      const src = required(name, 'src', args.src);
      const text = src.includes('-----BEGIN PGP')
        ? Buffer.from(src)
        : /^https?:\/\//i.test(src)
          ? await fetchUrl(name, src)
          : await readFile(src).catch((error: NodeJS.ErrnoException) => {
              throw new OperationArgumentError(
                name,
                `src ${src} cannot be read (${error.code}): expected a local key file, an http(s) URL or the armored key.`,
              );
            });
      let primary: string | undefined;
      try {
        primary = keysOf(binaryKey(text)).find((key) => !key.subkey)?.keyId;
      } catch (error) {
        throw new OperationArgumentError(
          name,
          `the key from ${src.includes('BEGIN PGP') ? 'src' : src} is not an OpenPGP public key (${error instanceof Error ? error.message : String(error)}).`,
        );
      }
      if (primary === undefined) {
        throw new OperationArgumentError(name, 'the key holds no public key.');
      }
      const imported = await context.fact(rpmKeysFact, {});
      if (imported.includes(rpmKeyVersion(primary))) return { steps: [] };
      // rpm --import reads armored keys only: a binary key is armored here.
      const armored = isArmored(text) ? text.toString('latin1') : armor(text);
      return {
        steps: commandSteps([
          sh`f=$(mktemp) && printf '%s' ${armored} > "$f" && rpm --import "$f"; s=$?; rm -f "$f"; exit $s`,
        ]),
      };
    },
  });
}

export const dnfKeyOperation = keyOperation('dnf.key');
export const yumKeyOperation = keyOperation('yum.key');
