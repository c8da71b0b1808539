// Child process for the kill -9 test: opens a FileStateStore and writes an ever-increasing counter
// (as a percent, n % 10000 / 100) as fast as it can, printing "ack N" once apply() has resolved.
// It starts from what the file holds, so every restart also proves the file still loads.
import { FileStateStore } from '../../gateway/runtime/state-store';

async function main(file: string): Promise<void> {
  const store = FileStateStore.open(file);
  const start = store.override('r')?.percent ?? 0;
  let n = Math.round(start * 100);
  process.stdout.write(`start ${n}\n`);
  for (;;) {
    n += 1;
    await store.apply(new Map([['r', (n % 10000) / 100]]), 'writer');
    process.stdout.write(`ack ${n}\n`);
  }
}

main(process.argv[2]).catch((err: Error) => {
  process.stderr.write(`state-writer: ${err.message}\n`);
  process.exit(1);
});
