import { setFlagsFromString } from 'node:v8';

/**
 * V8 optimises a function with TurboFan once it has run a while (its "interrupt
 * budget", 66 KB of bytecode executed by default). A run of infra executes most of
 * its code once per host, a few hundred to a few thousand times, and exits: V8 then
 * spends more CPU compiling that code on its background threads than the compiled
 * code saves (about 17% of the controller's CPU at 300 to 1000 ssh hosts, measured with
 * `perf`). A budget 15 times larger leaves that code to the baseline compiler and still
 * optimises the hot loops of long transfers within milliseconds: about 11% less CPU in
 * all for 300 ssh hosts, and no loss on 100 operations or on SFTP transfers (docs/scale.md).
 * Set before `main` runs (the packages the bin imports have only evaluated their
 * top level by then); a budget given on node's command line wins.
 */
if (!process.execArgv.some((arg) => arg.startsWith('--interrupt-budget'))) {
  setFlagsFromString('--interrupt-budget=1000000');
}
