// Node flags for processes that serve traffic; they only take effect on the command line.
// - V8's memory reducer shrinks the heap once a process has been idle for about 8 s; under the
//   load that follows, the gateway then ran a full mark-compact every ~30 ms for more than 16 s,
//   at 2-3× its usual CPU per 64 KiB POST.
// - Without the reducer, the first scavenge after an idle spell still shrinks the young
//   generation to its 1 MiB floor (the allocation rate it sees is the idle one). For about a
//   second the gateway then scavenged every ~10 ms, promoted its requests in flight, and ran
//   3-5 mark-compacts, where a warm one runs none. A 16 MiB floor is V8's own ceiling on 64-bit:
//   the young generation stays at the size load grows it to, at most 32 MiB of RSS once touched.
// Both measured with --trace-gc (bench/what-was-tried.md).
export const TRAFFIC_NODE_FLAGS: readonly string[] = Object.freeze(['--no-memory-reducer', '--min-semi-space-size=16']);

/** `flags` plus TRAFFIC_NODE_FLAGS, each once. */
export function withTrafficFlags(flags: readonly string[]): string[] {
  return [...flags.filter((f) => !TRAFFIC_NODE_FLAGS.includes(f)), ...TRAFFIC_NODE_FLAGS];
}
