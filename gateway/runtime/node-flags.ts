// Node flags for processes that serve traffic; they only take effect on the command line.
// Both keep V8 from shrinking the heap while a process is idle, which cost the load after each
// idle spell full collections and CPU (measured with --trace-gc; bench/what-was-tried.md):
// - --no-memory-reducer: the reducer shrinks the whole heap after about 8 s idle;
// - --min-semi-space-size=16: the first scavenge after an idle spell shrinks the young
//   generation to its 1 MiB floor; 16 MiB is V8's own ceiling on 64-bit (32 MiB of RSS once used).
export const TRAFFIC_NODE_FLAGS: readonly string[] = Object.freeze(['--no-memory-reducer', '--min-semi-space-size=16']);

/** `flags` plus TRAFFIC_NODE_FLAGS, each once. */
export function withTrafficFlags(flags: readonly string[]): string[] {
  return [...flags.filter((f) => !TRAFFIC_NODE_FLAGS.includes(f)), ...TRAFFIC_NODE_FLAGS];
}
