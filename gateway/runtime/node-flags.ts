// Node flags for processes that serve traffic. V8's memory reducer shrinks the heap once a
// process has been idle for about 8 s; under the load that follows, the gateway then ran a full
// mark-compact every ~30 ms for more than 16 s, at 2-3× its usual CPU per 64 KiB POST (measured
// with --trace-gc; bench/what-was-tried.md). The flag only takes effect on the command line.
export const TRAFFIC_NODE_FLAGS: readonly string[] = Object.freeze(['--no-memory-reducer']);

/** `flags` plus TRAFFIC_NODE_FLAGS, each once. */
export function withTrafficFlags(flags: readonly string[]): string[] {
  return [...flags.filter((f) => !TRAFFIC_NODE_FLAGS.includes(f)), ...TRAFFIC_NODE_FLAGS];
}
