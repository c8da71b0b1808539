// A fresh directory with a state file path in it for each test, removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Registers beforeEach/afterEach hooks; `use` receives each test's directory and routes.state.json path. */
export function withTempStateFile(prefix: string, use: (dir: string, file: string) => void): void {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    use(dir, join(dir, 'routes.state.json'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
}
