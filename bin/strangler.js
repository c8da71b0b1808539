#!/usr/bin/env node
'use strict';
// The package's bin: the CLI is TypeScript compiled to dist/ by `npm install` (the prepare script).

// A reader that stops early (`strangler status | head -3`) closes the pipe: end quietly, as a
// command killed by SIGPIPE would, instead of an unhandled EPIPE with its stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

require('../dist/gateway/cli/main.js').main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
