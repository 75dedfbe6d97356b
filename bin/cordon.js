#!/usr/bin/env node
'use strict';
// The cordon CLI; the implementation lives in dist/cli.js (src/cli.ts).
const { main } = require('../dist/cli.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`cordon: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 125;
  },
);
