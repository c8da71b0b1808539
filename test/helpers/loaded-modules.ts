// Preloaded (`node -r`) into a CLI child process: at exit, writes the files the process loaded
// (require.cache) and node's own modules it loaded (process.moduleLoadList) as JSON to the file
// STRANGLER_LOADED_MODULES names.
import { writeFileSync } from 'node:fs';

const out = process.env.STRANGLER_LOADED_MODULES;
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify({
  files: Object.keys(require.cache),
  builtins: (process as unknown as { moduleLoadList: string[] }).moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length)),
})));
