// strangler operator dashboard. Plain browser script, no build step, no third-party code; the
// page's Content-Security-Policy allows only this file to run.
//
// Data comes from the admin API by polling every POLL_MS (EventSource cannot send an
// Authorization header, and the token is never a cookie). Rates are computed here, from the
// difference between two polls' counters. Every DOM node is built with textContent: route ids,
// targets and audit entries never become markup.
'use strict';

(() => {
  const POLL_MS = 2000;
  const AUDIT_LIMIT = 15;
  const TOKEN_KEY = 'strangler.token';

  const $ = (id) => document.getElementById(id);

  /** h('td', {class: 'num'}, 'text', node…): an element with attributes and children. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === false || v === null || v === undefined) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
    return el;
  }

  // ---------------------------------------------------------------------------------------------
  // Session: the token lives in sessionStorage (this tab only) and travels as a Bearer header.

  const session = { token: null, access: null };

  /** A #token=… fragment signs in once and is dropped from the address bar and history. */
  function tokenFromFragment() {
    const params = new URLSearchParams(location.hash.replace(/^#/, ''));
    const token = params.get('token');
    if (token === null) return null;
    history.replaceState(null, '', location.pathname + location.search);
    return token;
  }

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  async function api(method, path, body) {
    const headers = { accept: 'application/json', authorization: `Bearer ${session.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
    } catch {
      throw new ApiError(0, 'network', 'the gateway does not answer');
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    // Admin errors are {"error": code, "message": what went wrong} (docs/errors.md, "HTTP answers").
    if (!res.ok) throw new ApiError(res.status, data && data.error, (data && data.message) || `${res.status} ${res.statusText}`);
    return data;
  }

  async function signIn(token) {
    session.token = token;
    try {
      const who = await api('GET', '/whoami');
      session.access = who.access;
    } catch (err) {
      session.token = null;
      sessionStorage.removeItem(TOKEN_KEY);
      throw err;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    showDashboard();
    announce(session.access === 'read' ? 'Signed in, read-only.' : 'Signed in as admin.');
    poll();
  }

  function signOut(message) {
    session.token = null;
    session.access = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearTimeout(pollTimer);
    previous = null;
    $('dashboard').hidden = true;
    $('session').hidden = true;
    $('signin').hidden = false;
    $('signin-error').textContent = message || '';
    $('token-input').value = '';
    $('token-input').focus();
  }

  function showDashboard() {
    const readOnly = session.access === 'read';
    $('signin').hidden = true;
    $('dashboard').hidden = false;
    $('session').hidden = false;
    $('readonly-banner').hidden = !readOnly;
    document.body.classList.toggle('read-only', readOnly);
    const badge = $('access-badge');
    badge.textContent = readOnly ? 'Read-only' : 'Admin';
    badge.className = `badge ${readOnly ? 'badge-warn' : 'badge-ok'}`;
    setDisabled($('kill-switch'), readOnly);
    setDisabled($('reset-all'), readOnly);
  }

  function setDisabled(button, disabled) {
    button.disabled = disabled;
    if (disabled) button.title = 'Read-only token: changes are disabled';
    else button.removeAttribute('title');
  }

  // ---------------------------------------------------------------------------------------------
  // Announcements and errors

  function announce(text) {
    const el = $('announcer');
    el.textContent = '';
    // A new text node after a tick, so the same message twice is read twice.
    setTimeout(() => { el.textContent = text; }, 50);
  }

  function showAlert(text) {
    const el = $('alert');
    if (!text) { el.hidden = true; el.textContent = ''; return; }
    if (el.textContent !== text) el.textContent = text;
    el.hidden = false;
  }

  function errorText(err) {
    return err.code && err.code !== 'network' ? `${err.message} (${err.code})` : err.message;
  }

  // ---------------------------------------------------------------------------------------------
  // Polling

  let pollTimer = null;
  let previous = null; // { at, stats: Map(route id -> stats) } of the last poll
  let current = { routes: [], sha: '' };

  async function poll() {
    clearTimeout(pollTimer);
    if (!session.token) return;
    try {
      const [routes, instances, audit] = await Promise.all([
        api('GET', '/routes'),
        optional(api('GET', '/instances')),
        optional(api('GET', `/audit?limit=${AUDIT_LIMIT}`)),
      ]);
      const at = performance.now();
      renderRoutes(routes, previous, at);
      previous = { at, stats: new Map(routes.routes.map((r) => [r.id, r.stats])) };
      renderInstances(instances);
      renderAudit(audit);
      showAlert('');
      const f = $('freshness');
      f.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
      f.classList.remove('stale');
    } catch (err) {
      if (err.status === 401) return signOut('The gateway refused the token (it may have been changed). Sign in again.');
      $('freshness').classList.add('stale');
      showAlert(`Cannot refresh: ${errorText(err)}. Retrying every ${POLL_MS / 1000} s.`);
    }
    pollTimer = setTimeout(poll, POLL_MS);
  }

  /** An endpoint this gateway may not have (another version): 404 is "not available", not a failure. */
  async function optional(promise) {
    try {
      return await promise;
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Routes

  const fmtPercent = (p) => `${Number(p).toLocaleString('en', { maximumFractionDigits: 2 })}%`;

  function matchText(m) {
    if (!m) return '';
    return m.kind === 'regex' ? `~ ${m.pattern}` : m.kind === 'exact' ? `= ${m.path}` : m.path;
  }

  /** Requests/s and error share of one side between two polls; null before the second poll. */
  function sideRate(route, target, before, seconds) {
    const now = (route.stats.by_target || {})[target] || { requests: 0, errors: 0 };
    const was = before && ((before.by_target || {})[target] || { requests: 0, errors: 0 });
    if (!was || seconds <= 0) return null;
    const requests = Math.max(0, now.requests - was.requests);
    const errors = Math.max(0, now.errors - was.errors);
    return { rps: requests / seconds, errorShare: requests ? errors / requests : null, total: now.requests };
  }

  function rateCells(rate, label) {
    if (rate === null) return [h('td', { class: 'num muted' }, '…'), h('td', { class: 'num muted' }, '…')];
    const rps = rate.rps === 0 ? '0' : rate.rps >= 10 ? rate.rps.toFixed(0) : rate.rps.toFixed(1);
    const err = rate.errorShare === null ? '—' : `${(rate.errorShare * 100).toFixed(1)}%`;
    const bad = rate.errorShare !== null && rate.errorShare >= 0.05;
    return [
      h('td', { class: 'num', title: `${rate.total} ${label} requests since the gateway started` }, rps),
      h('td', { class: `num${bad ? ' bad' : ''}` }, err),
    ];
  }

  /** A shadowed route's match rate, from GET /routes' {compared, equal, different, match_ratio}. */
  function shadowCell(s) {
    if (s === null || typeof s !== 'object') return h('td', { class: 'num' }, String(s));
    if (!('match_ratio' in s)) return h('td', { class: 'num' }, summary(s));
    const title = s.compared ? `${s.equal} of ${s.compared} compared answers equal, ${s.different} different` : 'no answers compared yet';
    return h('td', { class: 'num', 'data-shadow': '', title }, s.match_ratio === null ? '—' : fmtPercent(100 * s.match_ratio));
  }

  function rolloutText(r) {
    if (r === null || typeof r !== 'object') return String(r);
    const state = r.state || r.status || '';
    const step = typeof r.percent === 'number' ? ` at ${fmtPercent(r.percent)}` : '';
    return `${state}${step}` || summary(r);
  }

  /** "key value, key value" of an object's plain values: a field this page does not know yet. */
  function summary(o) {
    return Object.entries(o).filter(([, v]) => v === null || typeof v !== 'object').map(([k, v]) => `${k} ${v}`).join(', ') || '—';
  }

  function renderRoutes(data, before, at) {
    current = { routes: data.routes, sha: data.manifest_sha256 };
    const hasShadow = data.routes.some((r) => 'shadow' in r);
    const hasRollout = data.routes.some((r) => 'rollout' in r);
    const seconds = before ? (at - before.at) / 1000 : 0;
    $('reset-all').hidden = !data.routes.some((r) => r.override);
    $('manifest-info').textContent = `${data.routes.length} routes · manifest sha256 ${String(data.manifest_sha256).slice(0, 12)}`;

    // Two header rows: each side's rate and error columns grouped under the side's name.
    const col = (text, attrs) => h('th', { scope: 'col', ...attrs }, text);
    const group = (text, span) => h('th', { scope: 'colgroup', colspan: span, class: 'group' }, text);
    const tall = { rowspan: 2 };
    const head = [
      h('tr', {},
        col('Route', tall), col('Match', tall), col('Target', tall),
        group('Percent to target', 2), group('Target side', 2), group('Legacy side', 2),
        hasShadow && col('Shadow match', { ...tall, class: 'num' }),
        hasRollout && col('Rollout', tall),
        col('Actions', tall)),
      h('tr', {},
        col('Manifest', { class: 'num' }), col('Effective', { class: 'num' }),
        col(h('abbr', { title: 'target requests per second' }, 'req/s'), { class: 'num' }),
        col(h('abbr', { title: 'share of target answers that were 5xx' }, '5xx'), { class: 'num' }),
        col(h('abbr', { title: 'legacy requests per second' }, 'req/s'), { class: 'num' }),
        col(h('abbr', { title: 'share of legacy answers that were 5xx' }, '5xx'), { class: 'num' })),
    ];
    $('routes-head').replaceChildren(...head);

    const rows = data.routes.map((r) => {
      const was = before && before.stats.get(r.id);
      const toIsLegacy = r.to === 'legacy';
      const target = toIsLegacy ? null : sideRate(r, r.to, was, seconds);
      const legacy = sideRate(r, 'legacy', was, seconds);
      return h('tr', { 'data-route-row': r.id, class: r.editable ? '' : 'default-route' },
        h('th', { scope: 'row' }, h('span', { class: 'route-id' }, r.id)),
        h('td', { class: 'mono' }, matchText(r.match), r.methods ? h('span', { class: 'muted small' }, ` ${r.methods.join(', ')}`) : null),
        h('td', { class: 'mono' }, r.to),
        h('td', { class: 'num' }, r.editable ? fmtPercent(r.manifest_percent) : '—'),
        h('td', { class: 'num effective', 'data-effective': r.id }, r.editable ? percentBar(r) : '—'),
        ...(toIsLegacy ? [h('td', { class: 'num muted' }, '—'), h('td', { class: 'num muted' }, '—')] : rateCells(target, r.to)),
        ...rateCells(legacy, 'legacy'),
        hasShadow && ('shadow' in r ? shadowCell(r.shadow) : h('td', { class: 'num muted' }, '—')),
        hasRollout && h('td', {}, 'rollout' in r ? rolloutText(r.rollout) : '—'),
        h('td', { class: 'actions' }, r.editable ? routeActions(r) : h('span', { class: 'muted small' }, 'unmatched traffic, always legacy')));
    });
    updateRows($('routes-body'), rows);
  }

  /**
   * Swaps in the new rows without disturbing the operator: the actions cell that holds the focus
   * (a percent being typed, a button being pressed) stays as it is until focus leaves it, and a
   * percent typed but not yet set is carried over.
   */
  function updateRows(body, rows) {
    const old = [...body.children];
    const sameShape = old.length === rows.length && rows.every((tr, i) =>
      old[i].dataset.routeRow === tr.dataset.routeRow && old[i].children.length === tr.children.length);
    if (!sameShape) return body.replaceChildren(...rows);
    rows.forEach((tr, i) => {
      const was = old[i];
      const oldActions = was.lastElementChild;
      const oldInput = oldActions.querySelector('input');
      const newInput = tr.lastElementChild.querySelector('input');
      if (oldInput && newInput && oldInput.value !== oldInput.defaultValue) newInput.value = oldInput.value;
      if (oldActions.contains(document.activeElement)) {
        [...tr.children].slice(0, -1).forEach((cell, j) => was.children[j].replaceWith(cell));
      } else {
        was.replaceWith(tr);
      }
    });
  }

  function percentBar(r) {
    const p = Number(r.effective_percent);
    const fill = h('span', { class: 'fill' });
    fill.style.width = `${p}%`; // through the CSSOM: the CSP refuses style attributes in markup
    return h('span', { class: 'percent' },
      h('span', { class: 'bar', 'aria-hidden': 'true' }, fill),
      h('span', {}, fmtPercent(p), r.override ? h('span', { class: 'override', title: `runtime override, set ${r.override.updated_at} by ${r.override.by}` }, '*') : null));
  }

  function routeActions(r) {
    const ro = session.access === 'read';
    const key = (k) => `${r.id}:${k}`;
    const input = h('input', {
      type: 'number', min: 0, max: 100, step: 0.01, inputmode: 'decimal', class: 'percent-input',
      'data-route': r.id, 'data-key': key('input'), 'aria-label': `New percent for ${r.id}`,
      value: r.effective_percent, disabled: ro,
    });
    const group = h('div', { class: 'action-group', role: 'group', 'aria-label': `Actions for ${r.id}` },
      h('button', { type: 'button', class: 'button small', 'data-key': key('function'), disabled: ro || r.effective_percent === 100 || r.to === 'legacy',
        'aria-label': `Flip ${r.id} to ${r.to}`, onclick: () => confirmPercent(r, 100, `Flip ${r.id} to ${r.to}?`) }, 'To target'),
      h('button', { type: 'button', class: 'button small', 'data-key': key('legacy'), disabled: ro || r.effective_percent === 0,
        'aria-label': `Flip ${r.id} to legacy`, onclick: () => confirmPercent(r, 0, `Flip ${r.id} to legacy?`) }, 'To legacy'),
      h('span', { class: 'set-percent' }, input,
        h('button', { type: 'button', class: 'button small', 'data-key': key('set'), disabled: ro, 'aria-label': `Set the percent of ${r.id}`,
          onclick: () => {
            const p = Number(input.value);
            // A first check for the operator; the gateway's percent rule (gateway/manifest/percent.ts,
            // isValidPercent) decides, and its refusal is shown in the confirmation.
            if (input.value === '' || !Number.isFinite(p) || p < 0 || p > 100 || Math.round(p * 100) / 100 !== p) {
              showAlert(`${r.id}: the percent must be a number from 0 to 100 with at most two decimals.`);
              input.focus();
              return;
            }
            confirmPercent(r, p, `Set ${r.id} to ${fmtPercent(p)}?`);
          } }, 'Set')),
      r.override && h('button', { type: 'button', class: 'button small ghost', 'data-key': key('reset'), disabled: ro,
        'aria-label': `Reset ${r.id} to the manifest's percent`, onclick: () => confirmPercent(r, null, `Reset ${r.id} to the manifest's ${fmtPercent(r.manifest_percent)}?`) }, 'Reset'));
    if (ro) for (const b of group.querySelectorAll('button')) setDisabled(b, true);
    if ('rollout' in r) group.append(rolloutActions(r, ro));
    return group;
  }

  function rolloutActions(r, ro) {
    return h('span', { class: 'rollout-actions' }, ['start', 'pause', 'abort'].map((action) =>
      h('button', { type: 'button', class: `button small${action === 'abort' ? ' danger' : ''}`, disabled: ro, 'data-key': `${r.id}:rollout-${action}`,
        'aria-label': `${action} the rollout of ${r.id}`,
        onclick: () => openConfirm({
          title: `${action[0].toUpperCase()}${action.slice(1)} the rollout of ${r.id}?`,
          summary: `Rollout now: ${rolloutText(r.rollout)}.`,
          changes: [{ id: r.id, to: r.to, before: rolloutText(r.rollout), after: action }],
          run: () => api('POST', `/routes/${encodeURIComponent(r.id)}/rollout`, { action }),
          done: `Rollout of ${r.id}: ${action} sent.`,
        }) }, action)));
  }

  // ---------------------------------------------------------------------------------------------
  // Changes, each confirmed with its before and after

  function confirmPercent(shown, percent, title) {
    // The row may be a refresh or two old (kept while focused): show the latest before-value.
    const r = current.routes.find((x) => x.id === shown.id) || shown;
    const after = percent === null ? r.manifest_percent : percent;
    openConfirm({
      title,
      summary: percent === null
        ? 'Drops the runtime override: the route goes back to the manifest\'s percent.'
        : after === 0 ? `Every request of ${r.id} goes to legacy, from the next request.`
        : after === 100 ? `Every request of ${r.id} goes to ${r.to}, from the next request.`
        : `${fmtPercent(after)} of ${r.id}'s requests go to ${r.to}, the rest to legacy, from the next request.`,
      changes: [{ id: r.id, to: r.to, before: fmtPercent(r.effective_percent), after: fmtPercent(after) }],
      run: () => api('PATCH', `/routes/${encodeURIComponent(r.id)}`, { percent }),
      done: `${r.id} is now at ${fmtPercent(after)}.`,
    });
  }

  function confirmKillSwitch() {
    const routes = current.routes.filter((r) => r.editable);
    openConfirm({
      title: 'Kill switch: send everything to legacy?',
      summary: `Every route (${routes.length}) goes to 0%: all traffic to legacy, as one change, from the next request.`,
      changes: routes.map((r) => ({ id: r.id, to: r.to, before: fmtPercent(r.effective_percent), after: '0%' })),
      run: () => api('PATCH', '/routes', { all: 0 }),
      done: 'Kill switch applied: every route sends its traffic to legacy.',
      danger: true,
    });
  }

  function confirmResetAll() {
    const routes = current.routes.filter((r) => r.override);
    openConfirm({
      title: 'Reset every route to the manifest?',
      summary: `Drops the runtime overrides of ${routes.length} route${routes.length === 1 ? '' : 's'}, as one change: each goes back to its manifest percent.`,
      changes: routes.map((r) => ({ id: r.id, to: r.to, before: fmtPercent(r.effective_percent), after: fmtPercent(r.manifest_percent) })),
      run: () => api('PATCH', '/routes', { all: null }),
      done: 'Every route is back at its manifest percent.',
    });
  }

  let pending = null;
  let opener = null;

  function openConfirm(change) {
    if (session.access !== 'admin') return;
    pending = change;
    opener = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key || null : null;
    $('confirm-title').textContent = change.title;
    $('confirm-summary').textContent = change.summary;
    $('confirm-error').textContent = '';
    $('confirm-changes').replaceChildren(...change.changes.map((c) => h('tr', {},
      h('th', { scope: 'row' }, c.id), h('td', { class: 'mono' }, c.to),
      h('td', { class: 'num' }, c.before), h('td', { class: 'num strong' }, h('span', { 'aria-hidden': 'true' }, '→ '), c.after))));
    const ok = $('confirm-ok');
    ok.className = `button ${change.danger ? 'danger' : 'primary'}`;
    ok.disabled = false;
    ok.textContent = change.danger ? 'Send everything to legacy' : 'Apply';
    $('confirm').showModal();
    $('confirm-cancel').focus();
  }

  function closeConfirm() {
    pending = null;
    if ($('confirm').open) $('confirm').close();
  }

  async function applyConfirmed() {
    if (!pending) return;
    const change = pending;
    $('confirm-ok').disabled = true;
    try {
      await change.run();
    } catch (err) {
      $('confirm-ok').disabled = false;
      $('confirm-error').textContent = `Not applied: ${errorText(err)}`;
      return;
    }
    closeConfirm();
    announce(change.done);
    showAlert('');
    poll();
  }

  /** Tab and Shift+Tab stay inside the open dialog. */
  function trapFocus(event) {
    if (event.key !== 'Tab') return;
    const focusable = [...$('confirm').querySelectorAll('button:not([disabled]), input:not([disabled]), [tabindex]:not([tabindex="-1"])')];
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  }

  // ---------------------------------------------------------------------------------------------
  // Instances and audit

  function notAvailable(text) {
    return h('p', { class: 'muted not-available' }, text);
  }

  function table(columns, rows) {
    return h('table', { class: 'data compact' },
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : '' }, c.label)))),
      h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c, i) => h(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null, class: `${c.num ? 'num' : ''} ${c.mono ? 'mono' : ''}` }, show(c.get(row))))))));
  }

  const show = (v) => (v === null || v === undefined || v === '' ? '—' : String(v));
  const shortSha = (s) => (typeof s === 'string' ? s.slice(0, 12) : s);
  const when = (t) => (t ? new Date(t).toLocaleString([], { dateStyle: 'short', timeStyle: 'medium' }) : null);

  function renderInstances(data) {
    if (!data) {
      $('gateways').replaceChildren(notAvailable('Not available: this gateway has no GET /instances endpoint.'));
      $('nginx').replaceChildren(notAvailable('Not available: this gateway has no GET /instances endpoint.'));
      return;
    }
    const gateways = Array.isArray(data.gateways) ? data.gateways : [];
    const nginx = Array.isArray(data.nginx) ? data.nginx : [];
    $('gateways').replaceChildren(gateways.length ? table([
      { label: 'Instance', get: (g) => `${g.id || g.hostname || ''}${g.self ? ' (this one)' : ''}` },
      { label: 'State version', get: (g) => g.state_version, num: true },
      { label: 'Manifest', get: (g) => shortSha(g.manifest_sha256), mono: true },
      { label: 'Traffic', get: (g) => g.listen, mono: true },
      { label: 'PIDs', get: (g) => (Array.isArray(g.traffic_pids) ? g.traffic_pids.join(', ') : g.pid) },
      { label: 'Since', get: (g) => when(g.started_at || g.last_seen) },
    ], gateways) : notAvailable('No gateway instances reported.'));
    $('nginx').replaceChildren(nginx.length ? table([
      // Each entry is an agent's host report (gateway/runtime/state-source.ts: HostReport) plus lagging.
      { label: 'Host', get: (n) => n.host },
      { label: 'State version', get: (n) => n.state_version, num: true },
      { label: 'Manifest', get: (n) => shortSha(n.manifest_sha256), mono: true },
      { label: 'Status', get: (n) => (n.failure ? `failed to apply version ${n.failure.state_version}: ${n.failure.message}` : n.lagging ? 'behind' : 'ok') },
      { label: 'Last seen', get: (n) => when(n.seen_at) },
    ], nginx) : notAvailable('No nginx hosts report to this gateway.'));
  }

  function auditText(e) {
    if (e.action === 'bulk' && e.routes) {
      const changes = Object.entries(e.routes);
      const targets = new Set(changes.map(([, c]) => c.new));
      if (changes.length > 1 && targets.size === 1) return `${changes.length} routes → ${fmtPercent([...targets][0])} as one change`;
      return changes.map(([id, c]) => `${id} ${fmtPercent(c.old)} → ${fmtPercent(c.new)}`).join(', ');
    }
    if (e.route !== undefined && e.old !== undefined) return `${e.route} ${fmtPercent(e.old)} → ${fmtPercent(e.new)}${e.action === 'clear' ? ' (back to the manifest)' : ''}`;
    return summary(e);
  }

  function renderAudit(data) {
    if (!data) return $('audit').replaceChildren(notAvailable('Not available: this gateway has no GET /audit endpoint.'));
    const entries = (data.entries || []).slice().reverse();
    $('audit').replaceChildren(entries.length ? table([
      { label: 'Time', get: (e) => when(e.time) },
      { label: 'Change', get: auditText },
      { label: 'Action', get: (e) => e.action },
      { label: 'Client', get: (e) => e.client, mono: true },
    ], entries) : notAvailable('No changes yet.'));
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  function start() {
    $('signin-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const token = $('token-input').value.trim();
      if (!token) { $('signin-error').textContent = 'Enter a token.'; return; }
      $('signin-error').textContent = '';
      try {
        await signIn(token);
      } catch (err) {
        $('signin-error').textContent = err.status === 401 ? 'The gateway refused this token.' : `Cannot sign in: ${errorText(err)}`;
        $('token-input').select();
      }
    });
    $('sign-out').addEventListener('click', () => { signOut(''); announce('Signed out.'); });
    $('kill-switch').addEventListener('click', confirmKillSwitch);
    $('reset-all').addEventListener('click', confirmResetAll);
    $('confirm-ok').addEventListener('click', applyConfirmed);
    $('confirm-cancel').addEventListener('click', closeConfirm);
    $('confirm').addEventListener('keydown', trapFocus);
    $('confirm').addEventListener('close', () => {
      pending = null;
      // The row was probably rebuilt by a refresh meanwhile: find the button again by its key.
      const again = opener && document.querySelector(`[data-key="${CSS.escape(opener)}"]`);
      if (again && !again.disabled) again.focus();
      else $('routes-heading').focus();
    });
    $('routes-heading').setAttribute('tabindex', '-1');

    const fromFragment = tokenFromFragment();
    const token = fromFragment || sessionStorage.getItem(TOKEN_KEY);
    if (!token) return signOut('');
    signIn(token).catch((err) => signOut(err.status === 401 ? 'The gateway refused this token.' : `Cannot sign in: ${errorText(err)}`));
  }

  start();
})();
