#!/usr/bin/env node
// The `infra` command. A committed file rather than dist/bin.js, which the build writes:
// installing the workspace links this bin before anything is built, without a warning.
import '../dist/bin.js';
