// Preloaded (`node -r`) into a CLI child process: at exit, writes the files the process loaded
// (require.cache) as JSON to the file STRANGLER_LOADED_MODULES names.
import { writeFileSync } from 'node:fs';

const out = process.env.STRANGLER_LOADED_MODULES;
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify(Object.keys(require.cache))));
