// `npm run bench`: the suites against an echo upstream on loopback, BENCH_RUNS times (default 3),
// then BENCHMARKS.md. Settings come from the environment (see settings.ts); each run of the
// defaults takes about 10 minutes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLoadGenerator } from './load';
import { machineFacts, writeReport, type BenchResults, type SuiteResults } from './report';
import { runChanges } from './changes';
import { runAgentSuite } from './agent';
import { runOverhead } from './overhead';
import { runScale } from './scale';
import { runSharedState } from './shared-state';
import { machineCpu, stolenShareSince, stopDescendantsOnExit } from './proc';
import { benchArgs, nonDefaultEnv, readSettings } from './settings';
import { startUpstream } from './stack';

/** The raw results of the last run, beside the compiled bench (build output, not tracked). */
const RESULTS_JSON = join(__dirname, 'last-results.json');

async function main(): Promise<void> {
  const { flags } = benchArgs(
    'npm run bench [-- --report-only]\n\n' +
      'Runs the suites against an echo upstream on loopback BENCH_RUNS times, then rewrites BENCHMARKS.md.\n' +
      '--report-only rewrites BENCHMARKS.md from the last run\'s raw results, without load.',
    { accepted: ['--report-only'] },
  );
  if (flags.includes('--report-only')) {
    // Re-render BENCHMARKS.md from the last run's raw results (after a change to report.ts).
    const file = writeReport(JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as BenchResults);
    process.stderr.write(`bench: ${file} rewritten from ${RESULTS_JSON}\n`);
    return;
  }
  const settings = readSettings();
  stopDescendantsOnExit();
  const log = (line: string) => process.stderr.write(line + '\n');
  const started = Date.now();
  const load = startLoadGenerator();
  const env = nonDefaultEnv();
  const results: BenchResults = {
    command: `${env ? env + ' ' : ''}npm run bench`,
    machine: machineFacts(load.name),
    settings,
    startedAt: new Date(started).toISOString(),
    durationSec: 0,
  };
  const upstream = await startUpstream();
  const runs: SuiteResults[] = [];
  try {
    const up = { port: upstream.ready.port, pid: upstream.pid };
    for (let run = 1; run <= settings.runs; run++) {
      if (settings.runs > 1) log(`bench: run ${run} of ${settings.runs}`);
      const one: SuiteResults = {};
      const cpu0 = machineCpu();
      if (settings.suites.includes('overhead')) one.overhead = await runOverhead(load, up, settings, log);
      if (settings.suites.includes('scale')) one.scale = await runScale(load, up, settings, log);
      if (settings.suites.includes('changes')) one.changes = await runChanges(load, up, settings, log);
      if (settings.suites.includes('shared-state')) {
        const r = await runSharedState(load, up, settings, log);
        if (typeof r === 'string') one.sharedStateSkipped = r;
        else one.sharedState = r;
      }
      if (settings.suites.includes('agent')) one.agent = await runAgentSuite(load, up, settings, log);
      one.stolenShare = stolenShareSince(cpu0);
      runs.push(one);
    }
  } finally {
    load.close();
    await upstream.stop();
  }
  // The detailed sections show the last run; the targets and the spread, every run.
  Object.assign(results, runs[runs.length - 1], { runs });
  results.durationSec = (Date.now() - started) / 1000;
  writeFileSync(RESULTS_JSON, JSON.stringify(results));
  const file = writeReport(results);
  log(`bench: done in ${results.durationSec.toFixed(0)} s; results in ${file}`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
