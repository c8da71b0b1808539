// The report as one self-contained HTML file: inline CSS and SVG charts, no script, nothing
// fetched. Every string from the logs is escaped.
import type { MigrationReport } from './aggregate';
import { pct, reportSections } from './report-sections';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const FN = '#2b7a4b';
const LEGACY = '#c9ced6';

/** The function share per day as a line on a 0–100% scale. */
function shareChart(r: MigrationReport): string {
  const w = 640, h = 220, left = 44, right = 40, top = 16, bottom = 40;
  const days = r.days;
  const x = (i: number) => left + (days.length === 1 ? (w - left - right) / 2 : (i * (w - left - right)) / (days.length - 1));
  const y = (share: number) => top + (1 - share) * (h - top - bottom);
  const grid = [0, 0.25, 0.5, 0.75, 1].map((g) =>
    `<line x1="${left}" x2="${w - right}" y1="${y(g)}" y2="${y(g)}" stroke="#e3e6ea"/><text x="${left - 6}" y="${y(g) + 4}" text-anchor="end">${g * 100}%</text>`).join('');
  const points = days.map((d, i) => `${x(i).toFixed(1)},${y(d.function_share).toFixed(1)}`).join(' ');
  const every = Math.max(1, Math.ceil(days.length / 8));
  const labels = days.map((d, i) => (i % every === 0 || i === days.length - 1
    ? `<text x="${x(i).toFixed(1)}" y="${h - bottom + 18}" text-anchor="middle">${esc(d.day)}</text>` : '')).join('');
  const dots = days.map((d, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(d.function_share).toFixed(1)}" r="3.5" fill="${FN}"><title>${esc(d.day)}: ${pct(d.function_share)} of ${d.requests}</title></circle>`).join('');
  return `<svg id="share-chart" role="img" aria-label="Function share by day" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${grid}` +
    (days.length > 1 ? `<polyline fill="none" stroke="${FN}" stroke-width="2" points="${points}"/>` : '') + dots + labels + '</svg>';
}

/** Per route, one bar split into the function's and legacy's requests. */
function routeBars(r: MigrationReport): string {
  const rows = r.routes;
  const w = 640, label = 150, barH = 18, gap = 8, h = Math.max(1, rows.length) * (barH + gap) + 8;
  const max = Math.max(1, ...rows.map((x) => x.requests));
  const scale = (n: number) => (n / max) * (w - label - 90);
  const bars = rows.map((x, i) => {
    const yy = 4 + i * (barH + gap);
    const f = scale(x.function.requests), l = scale(x.legacy.requests);
    return `<g class="route-bar"><text x="${label - 8}" y="${yy + 13}" text-anchor="end">${esc(x.id)}</text>` +
      `<rect x="${label}" y="${yy}" width="${f.toFixed(1)}" height="${barH}" fill="${FN}"><title>${esc(x.id)}: ${x.function.requests} by the function</title></rect>` +
      `<rect x="${(label + f).toFixed(1)}" y="${yy}" width="${l.toFixed(1)}" height="${barH}" fill="${LEGACY}"><title>${esc(x.id)}: ${x.legacy.requests} by legacy</title></rect>` +
      `<text x="${(label + f + l + 6).toFixed(1)}" y="${yy + 13}">${x.requests} · ${x.requests ? pct(x.function_share) : '-'}</text></g>`;
  }).join('');
  return `<svg id="route-bars" role="img" aria-label="Requests per route by side" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}">${bars}</svg>`;
}

export function renderHtml(r: MigrationReport, top: number): string {
  const sections = reportSections(r, top);
  const tables = sections.map((s) => {
    const id = s.title.startsWith('Backlog:') ? ' id="backlog"' : s.title === 'Backlog by time spent' ? ' id="backlog-time"' : '';
    const table = s.header.length
      ? `<table${id}><thead><tr>${s.header.map((h, i) => `<th${s.numeric.includes(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
        s.rows.map((row) => `<tr>${row.map((c, i) => `<td${s.numeric.includes(i) ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('') + '</tbody></table>'
      : '';
    const chart = s.title === 'Overall' ? `<h3>Function share by day</h3>${shareChart(r)}` : s.title === 'Routes' ? `<h3>Requests per route</h3>${routeBars(r)}<p class="legend"><span style="background:${FN}"></span>function <span style="background:${LEGACY}"></span>legacy</p>` : '';
    return `<section><h2>${esc(s.title)}</h2>${s.lead.map((l) => `<p>${esc(l)}</p>`).join('')}${chart}${table}</section>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Migration report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d2329}
h1{margin-bottom:.2rem}.meta{color:#5b6570;margin-top:0}
.headline{font-size:1.6rem;margin:.5rem 0}.headline b{color:${FN}}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}th,td{padding:.3rem .5rem;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#f5f6f8}.n{text-align:right;font-variant-numeric:tabular-nums}
svg{max-width:100%;height:auto;font-size:11px;fill:#39424b}
.legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 .8em;vertical-align:-.1em}
</style></head><body>
<h1>Migration report</h1>
<p class="meta">Generated ${esc(r.generated_at)}${r.manifest ? ` from ${esc(r.manifest)}` : ''}; logs: ${esc(r.files.join(', '))}</p>
<p class="headline" id="headline"><b>${pct(r.function_share)}</b> of ${r.requests} requests served by functions</p>
${tables}
</body></html>
`;
}
