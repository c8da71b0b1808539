// The comparison thread's side (shadow-compare-thread.ts): the same comparison as on the event
// loop, sending back only the differences with their values made examples, never a body.
import { parentPort } from 'node:worker_threads';
import { compareAnswers, exampleDifferences, type CapturedAnswer } from './shadow-compare';
import type { CompareJob, CompareReply } from './shadow-compare-thread';

/** Buffers arrive as plain Uint8Arrays. */
function answer(a: CapturedAnswer): CapturedAnswer {
  return { ...a, body: Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength) };
}

parentPort!.on('message', ({ id, job }: { id: number; job: CompareJob }) => {
  let reply: CompareReply;
  try {
    const legacy = answer(job.legacy);
    const noise = job.again === null ? null : compareAnswers(legacy, answer(job.again)).map((d) => d.path);
    reply = { differences: exampleDifferences(compareAnswers(legacy, answer(job.fn))), noise };
  } catch (err) {
    reply = { error: (err as Error).message };
  }
  parentPort!.postMessage({ id, reply });
});
