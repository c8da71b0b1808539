// The one sha256 the project shows people (a manifest's, the schema's stamp, a body's): lower-case hex.
import { createHash } from 'node:crypto';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
