// The one sha256 the project shows people (a manifest's, a shadowed body's): lower-case hex.
// node:crypto is loaded on the first call, not with this module: commands that never hash (validate)
// do not pay its load.
let crypto: typeof import('node:crypto') | undefined;

export function sha256(data: string | Buffer): string {
  crypto ??= require('node:crypto') as typeof import('node:crypto');
  return crypto.createHash('sha256').update(data).digest('hex');
}
