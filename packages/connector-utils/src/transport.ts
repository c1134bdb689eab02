/** The transport types live in the contract (`@infra/core`); re-exported here for connectors. */
export type { RawCommand, RawCommandIo, RawExit, RunRaw } from '@infra/core';
