// Headless chromium for browser tests: the system's browser driven by playwright-core (which
// downloads nothing). Without chromium the tests skip loudly, except in CI where they fail, as
// requireNginx does for nginx.
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

let skipNoticeShown = false;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Call from a `before` hook (`browser = await launchBrowser(this)`); close it in `after`. */
export async function launchBrowser(ctx: Mocha.Context): Promise<Browser> {
  if (!executable(CHROMIUM_BIN)) {
    const why = `chromium was not found at ${CHROMIUM_BIN} (install Debian's chromium or set CHROMIUM_BIN)`;
    if (process.env.CI) throw new Error(`${why}; CI must run the browser tests`);
    if (!skipNoticeShown) {
      skipNoticeShown = true;
      process.stderr.write(`\n${'!'.repeat(78)}\n!!  SKIPPING browser tests: ${why}.\n${'!'.repeat(78)}\n\n`);
    }
    ctx.skip();
  }
  // launch() gives every browser a fresh temporary profile (user-data dir) and removes it on close.
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
}
