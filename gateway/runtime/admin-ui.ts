// The operator dashboard's static files (ui/ at the package root: one HTML page, one script,
// one stylesheet), served by the admin listener under /ui/ without a token: they hold no data,
// and every call the page makes for data sends the token. Read once at start, kept in memory.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROJECT_ROOT } from '../version';

/** Found from the package root, so the same path works from the sources and from dist/. */
export const UI_DIR = join(PROJECT_ROOT, 'ui');

const FILES: Record<string, { file: string; type: string }> = {
  '/ui/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/ui/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/ui/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
};

/** No inline script or style, nothing from another origin, no framing, no forms posted anywhere. */
export const UI_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self' data:",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'",
].join('; ');

export const UI_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': UI_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // Revalidate every time (a 304 when unchanged): an upgraded gateway never runs a stale script.
  'cache-control': 'no-cache',
});

interface Asset { body: Buffer; type: string; etag: string }

export interface AdminUi {
  /** True for the paths the dashboard owns (/ui and everything under /ui/). */
  owns(path: string): boolean;
  /** Answers GET/HEAD for `path`; false when there is no such file. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean;
}

/** Loads the files; a missing one is logged and its path answers 404 (the API keeps working). */
export function loadAdminUi(dir = UI_DIR, log: (line: string) => void = () => undefined): AdminUi {
  const assets = new Map<string, Asset>();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    try {
      const body = readFileSync(join(dir, file));
      assets.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
    } catch (err) {
      log(`admin: dashboard file ${join(dir, file)} cannot be read (${(err as Error).message}); /ui/ will not work`);
    }
  }
  return {
    owns: (path) => path === '/ui' || path.startsWith('/ui/'),
    serve(req, res, path) {
      if (path === '/ui') {
        res.writeHead(301, { ...UI_HEADERS, location: '/ui/', 'content-length': 0 });
        res.end();
        return true;
      }
      const asset = assets.get(path);
      if (!asset) return false;
      const headers = { ...UI_HEADERS, 'content-type': asset.type, etag: asset.etag };
      if (req.headers['if-none-match'] === asset.etag) {
        res.writeHead(304, headers);
        res.end();
        return true;
      }
      res.writeHead(200, { ...headers, 'content-length': asset.body.length });
      res.end(asset.body);
      return true;
    },
  };
}
