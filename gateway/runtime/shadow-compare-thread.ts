// Comparing two large answers is JSON.parse of both and a walk of both trees: a pair of 13 MB
// JSON bodies held the event loop, and every user's request behind it, for 750 ms. Answers over
// THREAD_BYTES are compared on a worker thread (shadow-compare-worker.ts), one at a time; smaller
// ones stay on the event loop, where a message round trip would cost more than they do. The
// thread starts when first needed and does not keep the process alive.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CapturedAnswer, Difference } from './shadow-compare';

/** Bodies (together) above this are compared on the thread. */
export const THREAD_BYTES = 64 * 1024;

export interface CompareJob {
  readonly legacy: CapturedAnswer;
  readonly fn: CapturedAnswer;
  /** Legacy's second answer (a noise sample), compared with the first. */
  readonly again: CapturedAnswer | null;
}

export type CompareReply =
  /** `differences`: legacy against the function, values made examples; `noise`: the paths where legacy differed from itself. */
  | { readonly differences: Difference[]; readonly noise: string[] | null }
  | { readonly error: string };

export function onThread(job: CompareJob): boolean {
  return job.legacy.body.length + job.fn.body.length + (job.again?.body.length ?? 0) > THREAD_BYTES;
}

export class CompareThread {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, (r: CompareReply) => void>();
  private nextId = 0;

  compare(job: CompareJob, done: (r: CompareReply) => void): void {
    const id = this.nextId++;
    this.waiting.set(id, done);
    this.started().postMessage({ id, job });
  }

  private started(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(join(__dirname, 'shadow-compare-worker.js'));
    worker.unref();
    worker.on('message', (m: { id: number; reply: CompareReply }) => {
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m.reply);
    });
    // A thread that died (out of memory on a huge tree) fails what it held; the next job starts another.
    const failAll = (why: string) => {
      if (this.worker === worker) this.worker = null;
      const held = [...this.waiting.values()];
      this.waiting.clear();
      for (const done of held) done({ error: why });
    };
    worker.on('error', (err) => failAll(err.message));
    worker.on('exit', (code) => failAll(`comparison thread exited (${code})`));
    return this.worker = worker;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker !== null) await worker.terminate();
  }
}
