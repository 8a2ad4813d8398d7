#!/usr/bin/env node
// The `volumed` command. A CommonJS entry, so that it runs before Node starts
// its thread pool for file calls (ES modules are read through that pool): a
// file pool fsyncs every copy it makes, and with Node's default of four
// threads, four snapshots being synced hold up every other file call. An
// operator's own UV_THREADPOOL_SIZE wins. It runs the bundle of the command
// (scripts/bundle.mjs): one file to load instead of ~900 modules.
'use strict';
process.env.UV_THREADPOOL_SIZE ??= '16';
import('../dist/bundle/main.js');
