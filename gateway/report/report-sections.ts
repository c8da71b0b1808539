// The report as titled tables, so the text and Markdown formats say the same thing.
import type { MigrationReport, SideFigures } from './aggregate';

export interface Section {
  title: string;
  /** Lines of prose before the table. */
  lead: string[];
  header: string[];
  /** Columns right-aligned (numbers). */
  numeric: number[];
  rows: string[][];
}

export const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const latency = (v: number | null) => (v === null ? '-' : `${v} ms`);
const side = (s: SideFigures) => (s.requests ? `${s.requests} (${pct(s.error_rate)} 5xx, p50 ${latency(s.p50_ms)}, p95 ${latency(s.p95_ms)})` : '-');

export function reportSections(r: MigrationReport, top: number): Section[] {
  const window = r.window.first ? `${r.window.first} .. ${r.window.last}` : 'no requests';
  const sections: Section[] = [{
    title: 'Overall',
    lead: [
      `${r.requests} requests (${window}${r.window.since ? `, last ${r.window.since}` : ''}), ${pct(r.function_share)} served by functions, ${pct(r.error_rate)} 5xx.`,
      `${r.lines.read} lines read from ${r.files.length} file${r.files.length === 1 ? '' : 's'}: ${r.lines.counted} counted, ${r.lines.malformed} malformed, ${r.lines.outside_window} outside the window.`,
    ],
    header: [], numeric: [], rows: [],
  }];
  if (r.days.length > 1) {
    sections.push({ title: 'By day', lead: [], header: ['DAY', 'REQUESTS', 'FUNCTION SHARE'], numeric: [1, 2],
      rows: r.days.map((d) => [d.day, String(d.requests), pct(d.function_share)]) });
  }
  sections.push({
    title: 'Routes', lead: [], header: ['ROUTE', 'MATCH', 'TO', 'REQUESTS', 'FUNCTION SHARE', 'FUNCTION SIDE', 'LEGACY SIDE'], numeric: [3, 4],
    rows: r.routes.map((x) => [x.id, x.match ?? '(not in the manifest)', x.to ?? '-', String(x.requests), x.requests ? pct(x.function_share) : '-', side(x.function), side(x.legacy)]),
  });
  const shown = r.backlog.slice(0, top);
  sections.push({
    title: 'Backlog: unclaimed traffic to move next',
    lead: [r.backlog.length > shown.length ? `The ${shown.length} busiest of ${r.backlog.length} path templates.` : `${r.backlog.length} path templates.`],
    header: ['PATH', 'REQUESTS', 'SHARE', 'TIME SPENT', '5XX', '4XX', 'P50', 'P95'], numeric: [1, 2, 3, 4, 5, 6, 7],
    rows: shown.map((b) => [b.path, String(b.requests), pct(b.share), `${b.time_spent_s.toFixed(1)} s`, pct(b.error_rate), pct(b.client_error_rate), latency(b.p50_ms), latency(b.p95_ms)]),
  });
  const slowest = [...r.backlog].sort((a, b) => b.time_spent_s - a.time_spent_s || b.requests - a.requests).slice(0, Math.min(top, 10));
  sections.push({
    title: 'Backlog by time spent', lead: ['Where legacy spends its time on unclaimed traffic (request_time summed).'],
    header: ['PATH', 'TIME SPENT', 'REQUESTS', 'P95'], numeric: [1, 2, 3],
    rows: slowest.map((b) => [b.path, `${b.time_spent_s.toFixed(1)} s`, String(b.requests), latency(b.p95_ms)]),
  });
  sections.push({
    title: 'Routes with no traffic',
    lead: [r.manifest === null ? 'Unknown without a manifest.' : r.unused_routes.length ? 'Candidates to delete rather than migrate: ' + r.unused_routes.join(', ') : 'None.'],
    header: [], numeric: [], rows: [],
  });
  if (r.notes.length) sections.push({ title: 'Notes', lead: r.notes, header: [], numeric: [], rows: [] });
  return sections;
}

export function renderText(r: MigrationReport, top: number): string {
  const out: string[] = [];
  for (const s of reportSections(r, top)) {
    out.push(s.title, ...s.lead.map((l) => `  ${l}`));
    if (s.header.length) {
      const widths = s.header.map((h, i) => Math.max(h.length, ...s.rows.map((row) => row[i].length)));
      const line = (cells: string[]) => '  ' + cells.map((c, i) => (s.numeric.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
      out.push(line(s.header), ...s.rows.map(line));
    }
    out.push('');
  }
  return out.join('\n');
}

const mdCell = (c: string) => c.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]/g, ' ');

export function renderMarkdown(r: MigrationReport, top: number): string {
  const out = ['# Migration report', ''];
  for (const s of reportSections(r, top)) {
    out.push(`## ${s.title}`, '');
    if (s.lead.length) out.push(...s.lead.map(mdCell), '');
    if (s.header.length) {
      out.push(`| ${s.header.join(' | ')} |`, `|${s.header.map((_, i) => (s.numeric.includes(i) ? '---:' : '---')).join('|')}|`);
      out.push(...s.rows.map((row) => `| ${row.map((c) => mdCell(c.startsWith('/') || c.startsWith('~') ? `\`${c}\`` : c)).join(' | ')} |`), '');
    }
  }
  return out.join('\n');
}
