// The one place tests start a browser: Debian's chromium, headless, driven by playwright-core
// (which downloads nothing). Like requireNginx: without chromium the browser tests skip loudly,
// and when env CI is set they fail instead.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

let skipNoticeShown = false;

/** Call from a `before` hook: the chromium binary, or a loud skip (a failure in CI). */
export function requireChromium(ctx: Mocha.Context): string {
  if (existsSync(CHROMIUM_BIN)) return CHROMIUM_BIN;
  const why = `chromium was not found at ${CHROMIUM_BIN} (install it: apt-get install chromium, or set CHROMIUM_BIN)`;
  if (process.env.CI) throw new Error(`${why}; CI must run the browser tests`);
  if (!skipNoticeShown) {
    skipNoticeShown = true;
    process.stderr.write('\n' + '!'.repeat(78) + `\n!!  SKIPPING browser tests: ${why}.\n` + '!'.repeat(78) + '\n\n');
  }
  return ctx.skip();
}

export interface RunningBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** A fresh profile in a temp directory, removed on close; nothing phones home. */
export async function launchBrowser(executablePath = CHROMIUM_BIN): Promise<RunningBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'strangler-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run'],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
