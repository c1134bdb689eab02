import type { FactDefinition } from './fact.js';
import { directoryFact, fileFact } from './file-facts.js';
import {
  archFact,
  groupsFact,
  hostnameFact,
  kernelFact,
  osFact,
  usersFact,
} from './server-facts.js';

/** Every fact by its name, for `infra INVENTORY fact NAME`. */
export const FACTS: Readonly<Record<string, FactDefinition<never, unknown>>> = Object.fromEntries(
  [osFact, archFact, hostnameFact, kernelFact, usersFact, groupsFact, fileFact, directoryFact].map(
    (fact) => [fact.name, fact as FactDefinition<never, unknown>],
  ),
);

export { defineFact, type FactDefinition } from './fact.js';
export { directoryFact, fileFact, type PathArgs, type PathInfo, parseStat } from './file-facts.js';
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
