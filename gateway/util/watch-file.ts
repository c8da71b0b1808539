// Follow one file through edits: watch its directory, not the file, because editors and atomic
// writers replace a file by renaming a new one over it, which a watch on the old inode misses.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface FileWatch { close(): void }

/** Calls `onChange` once events on `file` have been quiet for `debounceMs`; `onError` when watching fails. */
export function watchFile(file: string, onChange: () => void, debounceMs: number, onError: (err: Error) => void): FileWatch {
  const name = basename(file);
  let debounce: NodeJS.Timeout | null = null;
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
      if (changed !== null && changed !== name) return;
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(() => { debounce = null; onChange(); }, debounceMs);
    });
    watcher.on('error', onError);
  } catch (err) {
    onError(err as Error);
  }
  return {
    close() {
      watcher?.close();
      if (debounce) clearTimeout(debounce);
    },
  };
}
