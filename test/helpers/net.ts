// Loopback ports for tests: ask the kernel for a free one rather than hard-coding numbers.
export { freePort } from '../../gateway/util/free-port';
