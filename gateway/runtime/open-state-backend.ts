// `--state FILE|redis://…`: the one place a state spec becomes a backend.
import { openFileBackend, type FileStateSourceOptions } from './file-state-source';
import { isRedisUrl, type StateBackend } from './state-source';

/** The Redis backend, when this build has one: plugging it in is this one line. */
const REDIS_BACKEND: ((url: string) => Promise<StateBackend>) | null = null;

export class StateSpecError extends Error {}

export async function openStateBackend(spec: string, opts: FileStateSourceOptions = {}): Promise<StateBackend> {
  if (isRedisUrl(spec)) {
    if (!REDIS_BACKEND) {
      const shown = spec.replace(/\/\/[^@/]*@/, '//***@'); // never print a password
      throw new StateSpecError(`--state ${shown}: Redis state is not supported in this build; pass the gateway's state file (--state FILE)`);
    }
    return REDIS_BACKEND(spec);
  }
  return openFileBackend(spec, opts);
}
