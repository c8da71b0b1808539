// Node flags for processes that serve traffic; they only take effect on the command line. Each
// removes a GC cost measured under load with --trace-gc (bench/what-was-tried.md):
// - --no-memory-reducer: the reducer shrinks the whole heap after about 8 s idle;
// - --min-semi-space-size=16: the first scavenge after an idle spell shrinks the young
//   generation to its 1 MiB floor; 16 MiB is V8's own ceiling on 64-bit (32 MiB of RSS once used);
// - --no-allocation-site-pretenuring: once most objects of an object literal outlived a scavenge
//   (a connection's, at warm-up), V8 makes that literal's later objects in the old generation;
//   a per-request one made there keeps its request's young objects alive, scavenge after
//   scavenge, until a full collection.
export const TRAFFIC_NODE_FLAGS: readonly string[] = Object.freeze(['--no-memory-reducer', '--min-semi-space-size=16', '--no-allocation-site-pretenuring']);

/** `flags` plus TRAFFIC_NODE_FLAGS, each once. */
export function withTrafficFlags(flags: readonly string[]): string[] {
  return [...flags.filter((f) => !TRAFFIC_NODE_FLAGS.includes(f)), ...TRAFFIC_NODE_FLAGS];
}
