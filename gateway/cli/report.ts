// `strangler report`: how far the strangling has come, and what to move next, from the access
// logs of nginx and the gateway.
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { parseDuration } from '../manifest/units';
import type { RouteTable } from '../manifest/route-table';
import { MAX_TEMPLATES, ReportAggregator, type MigrationReport } from '../report/aggregate';
import { readLogLines } from '../report/read-logs';
import { renderHtml } from '../report/render-html';
import { renderMarkdown, renderText } from '../report/report-sections';
import { EXIT, parseCommandArgs, UsageError, wholeNumberOption, type Command } from './command';
import { DEFAULT_MANIFEST, loadManifestOrReport, manifestPath } from './manifest-arg';

const FORMATS = ['text', 'json', 'md', 'html'] as const;
type Format = typeof FORMATS[number];

export const command: Command = {
  name: 'report',
  usage: `Usage: strangler report [MANIFEST] --log FILE... [--since DURATION] [--format text|json|md|html] [-o OUT] [--top N]

Reads the JSON access logs of nginx (the compiled config's strangler_json format) and of the
gateway (gateway.access_log, the same format), plain or gzipped, rotated ones too
(access.log access.log.1 access.log.2.gz), streaming, and reports:

  - overall: requests, the share served by functions (any target other than legacy), by day;
  - per route: requests, the share sent to the function, and for each side the error rate
    (5xx, and 4xx) and p50/p95 latency (a log-scale histogram: within 5% of the exact value);
  - the backlog: requests no route claims (route "default"), grouped into path templates
    (numbers, UUIDs, long hex and dates folded into {id} {uuid} {hex} {date}), busiest first,
    with time spent and error rates: what to migrate next;
  - routes of MANIFEST (default ${DEFAULT_MANIFEST}) with no traffic in the window.

A request nginx hands to the gateway (a dynamic or shadowed route) is in both logs; nginx's line
names who answered it; a shadow copy is in neither. Give the gateway's log for traffic that
reaches the gateway directly.

Options:
  --log FILE...        log files (repeat --log, or list several after one --log)
  --since DURATION     only requests in the last DURATION (nginx syntax: 30m, 24h, 7d)
  --format FORMAT      text (default), json, md, or html (one self-contained file, SVG charts)
  -o, --out OUT        write the report to OUT instead of stdout
  --top N              backlog templates shown in text, md and html (1 to ${MAX_TEMPLATES}, default 20;
                       json has all)

Memory is bounded: at most ${MAX_TEMPLATES} path templates are kept; requests of further
templates are counted under "(other paths)" and a note says how many. Malformed lines are
counted and skipped, with a note naming the first of them.

Examples:
  strangler report --log /var/log/nginx/strangler.log*
  strangler report routes/routes.yaml --log access.log access.log.1 access.log.2.gz --since 7d
  strangler report --log access.log --format html -o report.html

Exit codes: 0 ok, 1 a log file or the manifest cannot be read, 2 usage error.
`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(spreadLogs(argv), {
      log: { type: 'string', multiple: true }, since: { type: 'string' }, format: { type: 'string' },
      out: { type: 'string', short: 'o' }, top: { type: 'string' },
    });
    const v = values as { log?: string[]; since?: string; format?: string; out?: string; top?: string };
    const files = v.log ?? [];
    if (files.length === 0) throw new UsageError('--log FILE is required (the access logs of nginx and/or the gateway)');
    const format = (v.format ?? 'text') as Format;
    if (!FORMATS.includes(format)) throw new UsageError(`--format ${JSON.stringify(v.format)}: expected one of ${FORMATS.join(', ')}`);
    let sinceMs: number | null = null;
    if (v.since !== undefined) {
      const span = parseDuration(v.since);
      if (span === null || span === 0) throw new UsageError(`--since ${JSON.stringify(v.since)}: expected a duration such as 30m, 24h or 7d`);
      sinceMs = Date.now() - span;
    }
    // No backlog holds more than MAX_TEMPLATES templates to show.
    const top = wholeNumberOption('top', v.top, 1, MAX_TEMPLATES) ?? 20;

    for (const f of files) {
      const why = unreadable(f);
      if (why) {
        process.stderr.write(`strangler report: ${f}: ${why}\n`);
        return EXIT.FAIL;
      }
    }
    const explicit = positionals.length > 0;
    const file = manifestPath(positionals);
    let table: RouteTable | null = null;
    if (explicit || existsSync(file)) {
      table = loadManifestOrReport(file);
      if (!table) {
        process.stderr.write(`strangler report: ${file} is invalid\n`);
        return EXIT.FAIL;
      }
    }

    const report = await buildReport(table, files, { sinceMs, sinceText: v.since ?? null, manifest: table ? file : null });
    const text = format === 'json' ? JSON.stringify(report, null, 2) + '\n'
      : format === 'md' ? renderMarkdown(report, top)
      : format === 'html' ? renderHtml(report, top)
      : renderText(report, top);
    if (v.out) writeFileSync(v.out, text);
    else process.stdout.write(text);
    // The notes reach a person reading a terminal even when the report goes to a file or a pipe.
    if (v.out || format !== 'text') for (const n of report.notes) process.stderr.write(`strangler report: note: ${n}\n`);
    return EXIT.OK;
  },
};

export async function buildReport(table: RouteTable | null, files: string[],
  opts: { sinceMs?: number | null; sinceText?: string | null; manifest?: string | null; maxTemplates?: number; now?: Date } = {}): Promise<MigrationReport> {
  const agg = new ReportAggregator(table, opts);
  for (const f of files) {
    let n = 0;
    const note = await readLogLines(f, (line) => { n++; agg.addLine(line, () => `${f}:${n}`); },
      () => { n++; agg.addOverlong(() => `${f}:${n}`); });
    if (note) agg.noteFile(note);
  }
  return agg.finish({ manifest: opts.manifest ?? null, files, now: opts.now });
}

/** `--log a b c` as `--log a --log b --log c`: the files after --log up to the next option. */
function spreadLogs(argv: string[]): string[] {
  const out: string[] = [];
  let inLogs = false;
  let given = 0;
  const endLogs = () => { if (inLogs && given === 0) out.push('--log'); inLogs = false; }; // parseArgs names the missing value
  for (const a of argv) {
    if (a === '--log') { endLogs(); inLogs = true; given = 0; continue; }
    if (a.startsWith('-')) endLogs();
    if (inLogs) { out.push('--log', a); given++; } else out.push(a);
  }
  endLogs();
  return out;
}

function unreadable(path: string): string | null {
  try {
    if (statSync(path).isDirectory()) return 'is a directory';
    accessSync(path, constants.R_OK);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
  }
}
