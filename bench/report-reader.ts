// One reader of the report benchmark, in its own process so its peak RSS is its own:
//   bare FILE              a bare readline + JSON.parse loop (the floor)
//   report MANIFEST FILE   strangler report's reading and aggregation (buildReport)
// Prints {"ms":N,"lines":N} when done.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { buildReport } from '../gateway/cli/report';
import { loadManifest } from '../gateway/manifest/compile-manifest';

async function main(): Promise<void> {
  const [mode, a, b] = process.argv.slice(2);
  const started = performance.now();
  let lines = 0;
  if (mode === 'bare') {
    let sink = 0;
    for await (const line of createInterface({ input: createReadStream(a), crlfDelay: Infinity })) {
      const v = JSON.parse(line) as { status: number };
      sink += v.status;
      lines++;
    }
    if (sink < 0) process.stderr.write('unreachable\n');
  } else if (mode === 'report') {
    const report = await buildReport(loadManifest(a).table, [b]);
    lines = report.lines.read;
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  process.stdout.write(JSON.stringify({ ms: Math.round(performance.now() - started), lines }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
