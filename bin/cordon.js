#!/usr/bin/env node
'use strict';
// The cordon CLI; the implementation is src/cli/ (entry src/cli/index.ts), bundled into dist/cordon-cli.cjs.
const { main } = require('../dist/cordon-cli.cjs');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`cordon: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 125;
  },
);
