import type { FactDefinition } from './fact.js';
import { directoryFact, fileFact } from './file-facts.js';
import { findFact, sha256Fact } from './file-search-facts.js';
import { initSystemFact, openrcStatusFact, sysvinitStatusFact } from './init-facts.js';
import { npmOutdatedFact, npmPackagesFact } from './npm-facts.js';
import {
  apkPackagesFact,
  apkUpgradableFact,
  aptCacheAgeFact,
  aptPackagesFact,
  aptPolicyFact,
  dnfPackagesFact,
  dnfUpgradableFact,
} from './package-facts.js';
import { pipInstallPlanFact, pipPackagesFact } from './pip-facts.js';
import { commandFact, linuxDistributionFact, listeningPortsFact } from './probe-facts.js';
import {
  archFact,
  groupsFact,
  hostnameFact,
  kernelFact,
  osFact,
  usersFact,
} from './server-facts.js';
import { systemdUnitsFact, whichFact } from './systemd-facts.js';

/** Every fact by its name, for `infra INVENTORY fact NAME`. */
export const FACTS: Readonly<Record<string, FactDefinition<never, unknown>>> = Object.fromEntries(
  [
    osFact,
    archFact,
    hostnameFact,
    kernelFact,
    usersFact,
    groupsFact,
    whichFact,
    fileFact,
    directoryFact,
    aptPackagesFact,
    aptPolicyFact,
    aptCacheAgeFact,
    apkPackagesFact,
    apkUpgradableFact,
    dnfPackagesFact,
    dnfUpgradableFact,
    systemdUnitsFact,
    linuxDistributionFact,
    commandFact,
    listeningPortsFact,
    sha256Fact,
    findFact,
    initSystemFact,
    sysvinitStatusFact,
    openrcStatusFact,
    pipPackagesFact,
    pipInstallPlanFact,
    npmPackagesFact,
    npmOutdatedFact,
  ].map((fact) => [fact.name, fact as FactDefinition<never, unknown>]),
);

export { defineFact, type FactDefinition } from './fact.js';
export { directoryFact, fileFact, type PathArgs, type PathInfo, parseStat } from './file-facts.js';
export * from './file-search-facts.js';
export * from './init-facts.js';
export * from './npm-facts.js';
export {
  APT_UPDATE_STAMP,
  type AptPolicy,
  apkPackagesFact,
  apkUpgradableFact,
  aptCacheAgeFact,
  aptPackagesFact,
  aptPolicyFact,
  dnfPackagesFact,
  dnfUpgradableFact,
  type PackageVersions,
  parseApkInfo,
  parseApkUpgradable,
  parseAptPolicy,
  parseDnfUpgrades,
  parseDpkgQuery,
  parseRpmQuery,
  splitApkId,
} from './package-facts.js';
export * from './pip-facts.js';
export * from './probe-facts.js';
export {
  archFact,
  type GroupInfo,
  groupsFact,
  hostnameFact,
  kernelFact,
  osFact,
  type UserInfo,
  usersFact,
} from './server-facts.js';
export {
  parseSystemdUnits,
  type SystemdUnit,
  systemdUnitsFact,
  whichFact,
} from './systemd-facts.js';
