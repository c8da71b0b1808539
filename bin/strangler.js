#!/usr/bin/env node
'use strict';
// The package's bin: the CLI is TypeScript compiled to dist/ by `npm install` (the prepare script).
require('../dist/gateway/cli/main.js').main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
