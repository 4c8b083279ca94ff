// shoal dashboard: loads the lists once from /api/v1, then follows GET /api/v1/events
// (server-sent events) and redraws at most every 100 ms. No framework: the page is small.
'use strict';

// Script errors are kept for the browser test (tests/integration/dashboard_browser.py).
window.__errors = [];
window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
window.addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));

const API = '/api/v1';
const MAX_ROWS = 500;         // rows drawn; the rest are counted
const MAX_SAMPLES = 1800;     // an hour at 2 s
const JOB_FIELDS = ['job_id', 'array_job_id', 'array_task_id', 'state', 'reason', 'submit_time',
  'start_time', 'end_time', 'nodes', 'alloc_cpus', 'exit_code', 'request.name', 'request.user',
  'request.partition', 'request.time_limit_s', 'request.account', 'request.gpus_per_node'];

const state = {
  jobs: new Map(),     // display id -> row
  nodes: new Map(),    // name -> node document
  gpuReadings: new Map(),  // name -> [{index, utilization_ratio, temperature_celsius, ...}]
  samples: [],         // [time, pending, running, cpus, cpus_alloc, gpus, gpus_alloc, ...]
  timeline: [],
  reservations: [],    // GET /reservations
  accounting: null,    // GET /accounting (associations and their limits), null when not visible
  shares: null,        // GET /shares
  summary: null,
  sort: { key: 'id', dir: -1 },
  selected: null,
  dirty: { jobs: true, nodes: true, charts: true, timeline: true, detail: true, plan: true,
    accounts: true },
};

const $ = (sel) => document.querySelector(sel);
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

// The API token (JWT from `scontrol token`), kept for this tab only. Viewing needs none; the
// controller refuses changes from a caller without one over TCP. A link may carry it in its
// fragment (#token=...), which browsers never send to the server; it is moved out at once.
const TOKEN_KEY = 'shoal-token';
function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
function setToken(text) {
  const t = text.trim().replace(/^SLURM_JWT=/, '');
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  showTokenUser();
}
function showTokenUser() {
  let who = '';
  const t = token();
  if (t) {
    try {
      const claims = JSON.parse(atob(t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      who = `as ${claims.sun}`;
    } catch (e) { who = 'token set'; }
  }
  $('#token-who').textContent = who;
  $('#token-set').textContent = t ? 'Sign out' : 'Sign in';
}
function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (!m) return;
  setToken(decodeURIComponent(m[1]));
  history.replaceState(null, '', window.location.pathname + window.location.search);
}

async function api(path, options) {
  options = Object.assign({}, options);
  if (token()) options.headers = Object.assign({}, options.headers, { Authorization: `Bearer ${token()}` });
  const resp = await fetch(API + path, options);
  let body = null;
  try { body = await resp.json(); } catch (e) { body = null; }
  if (!resp.ok) {
    const msg = body && body.error ? body.error.message : `HTTP ${resp.status}`;
    throw new Error(msg);
  }
  return body;
}

// ---- jobs -------------------------------------------------------------------------------------

function displayId(id, arrayJob, task) {
  return arrayJob && task >= 0 && arrayJob !== id ? `${arrayJob}_${task}` : String(id);
}

function rowFrom(get) {
  const id = get('job_id');
  const arrayJob = get('array_job_id');
  const task = get('array_task_id');
  return {
    key: displayId(id, arrayJob, task), num: id, arrayJob, task,
    name: get('request.name') || '', user: get('request.user') || '',
    partition: get('request.partition') || '', state: get('state'), reason: get('reason') || '',
    submit: get('submit_time'), start: get('start_time'), end: get('end_time'),
    nodes: get('nodes') || [], cpus: get('alloc_cpus'), exit: get('exit_code'),
    limit: get('request.time_limit_s'), account: get('request.account') || '',
    gpus: (get('request.gpus_per_node') || 0) * Math.max(1, (get('nodes') || []).length),
  };
}

function rowFromDocument(doc) {
  return rowFrom((k) => k.startsWith('request.') ? doc.request[k.slice(8)] : doc[k]);
}

function elapsed(r, now) {
  if (r.state === 'PENDING') return r.submit ? now - r.submit : 0;
  if (!r.start) return 0;
  return (r.end && r.state !== 'RUNNING' ? r.end : now) - r.start;
}

function fmtDuration(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24;
  const m = Math.floor(s / 60) % 60, sec = s % 60;
  const p = (n) => String(n).padStart(2, '0');
  if (d > 0) return `${d}-${p(h)}:${p(m)}:${p(sec)}`;
  if (h > 0) return `${h}:${p(m)}:${p(sec)}`;
  return `${m}:${p(sec)}`;
}

function where(r) {
  if (r.state === 'PENDING') return `(${r.reason || 'None'})`;
  return r.nodes.join(',');
}

function compare(a, b, key, now) {
  switch (key) {
    case 'id': return (a.arrayJob || a.num) - (b.arrayJob || b.num) || a.task - b.task || a.num - b.num;
    case 'time': return elapsed(a, now) - elapsed(b, now);
    case 'where': return where(a).localeCompare(where(b));
    default: return String(a[key]).localeCompare(String(b[key]));
  }
}

function renderJobs() {
  const now = Date.now() / 1000;
  const text = $('#job-filter').value.trim().toLowerCase();
  const st = $('#state-filter').value;
  let rows = [];
  for (const r of state.jobs.values()) {
    if (st === 'live' ? !(r.state === 'PENDING' || r.state === 'RUNNING') : st && r.state !== st) {
      continue;
    }
    if (text && ![r.key, r.name, r.user, r.partition, r.state, where(r)]
      .some((f) => f.toLowerCase().includes(text))) continue;
    rows.push(r);
  }
  const { key, dir } = state.sort;
  rows.sort((a, b) => dir * compare(a, b, key, now) || b.num - a.num);
  $('#job-count').textContent = `(${rows.length} shown of ${state.jobs.size})`;
  $('#job-more').textContent = rows.length > MAX_ROWS ? `first ${MAX_ROWS} of ${rows.length}; filter to see more` : '';
  rows = rows.slice(0, MAX_ROWS);
  const body = el('tbody');
  for (const r of rows) {
    const tr = el('tr', { 'data-id': r.key },
      el('td', { class: 'id', text: r.key }), el('td', { class: 'name', text: r.name }),
      el('td', { class: 'user', text: r.user }), el('td', { class: 'partition', text: r.partition }),
      el('td', { class: `state st st-${r.state}`, text: r.state }),
      el('td', { class: 'time', text: fmtDuration(elapsed(r, now)) }),
      el('td', { class: 'where', text: where(r), title: where(r) }));
    if (r.key === state.selected) tr.classList.add('selected');
    body.append(tr);
  }
  $('#job-table tbody').replaceWith(body);
  for (const th of document.querySelectorAll('#job-table th')) {
    th.classList.toggle('asc', th.dataset.key === key && dir > 0);
    th.classList.toggle('desc', th.dataset.key === key && dir < 0);
  }
}

// ---- nodes ------------------------------------------------------------------------------------

function nodeClass(n) {
  const s = (n.state_long || '').replace('*', '').toLowerCase();
  return ['idle', 'mixed', 'allocated', 'down', 'drained', 'draining'].includes(s) ? s : 'unknown';
}

function bar(kind, used, total) {
  const b = el('div', { class: `bar ${kind}`, title: `${kind}: ${used}/${total}` }, el('i'));
  b.firstChild.style.width = total > 0 ? `${(100 * used / total).toFixed(1)}%` : '0';
  return b;
}

function renderNodes() {
  const grid = el('div', { id: 'nodes', class: 'grid' });
  const names = [...state.nodes.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const counts = {};
  for (const name of names) {
    const n = state.nodes.get(name);
    const cls = nodeClass(n);
    counts[cls] = (counts[cls] || 0) + 1;
    const gpusBusy = (n.gpu_busy || []).filter(Boolean).length;
    const readings = state.gpuReadings.get(n.name) || [];
    let title = `${n.name}: ${n.state_long}${n.reason ? ' (' + n.reason + ')' : ''}\n` +
      `CPUs ${n.alloc_cpus}/${n.cpus}, GPUs ${gpusBusy}/${n.gpus}, jobs ${(n.running_jobs || []).join(',')}`;
    for (const g of readings) {
      title += `\nGPU ${g.index}: ${Math.round(100 * g.utilization_ratio)}%, ` +
        `${(g.memory_used_bytes / 2 ** 30).toFixed(1)}/${(g.memory_total_bytes / 2 ** 30).toFixed(0)} GiB, ` +
        `${Math.round(g.temperature_celsius)} °C, ${Math.round(g.power_watts)} W`;
    }
    const box = el('div', { class: `node ${cls}`, 'data-name': n.name, 'data-state': n.state_long, title },
      el('div', { class: 'name', text: n.name }),
      el('div', { class: 'muted', text: `${n.state_long} ${n.alloc_cpus}/${n.cpus} cpu` }),
      bar('cpu', n.alloc_cpus, n.cpus));
    if (n.gpus > 0) box.append(bar('gpu', gpusBusy, n.gpus));
    if (readings.length > 0) {
      // What the GPUs measure (their agents' readings), beside what is allocated.
      const util = readings.reduce((a, g) => a + g.utilization_ratio, 0) / readings.length;
      const hottest = Math.max(...readings.map((g) => g.temperature_celsius));
      box.append(el('div', { class: 'muted gpu-read', 'data-gpu-util': util.toFixed(2),
        text: `gpu ${Math.round(100 * util)}% ${Math.round(hottest)}°C` }));
    }
    if (!n.responding) box.classList.add('noresp');
    grid.append(box);
  }
  $('#nodes').replaceWith(grid);
  $('#node-count').textContent = `(${names.length})`;
  const legend = $('#legend');
  legend.textContent = '';
  for (const c of ['idle', 'mixed', 'allocated', 'drained', 'down', 'unknown']) {
    const s = el('span', { text: `${c} ${counts[c] || 0}` });
    s.style.setProperty('--c', `var(--${c === 'allocated' ? 'alloc' : c === 'drained' ? 'drain' : c})`);
    legend.append(s);
  }
}

// ---- charts (inline SVG) ----------------------------------------------------------------------

const SVGNS = 'http://www.w3.org/2000/svg';
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function svgText(x, y, text) {
  const t = svgEl('text', { x, y });
  t.textContent = text;
  return t;
}

function drawChart(svg, series, maxY, unit) {
  svg.textContent = '';
  const W = 600, H = 160, pad = 4;
  const data = state.samples;
  if (data.length < 2) {
    svg.append(svgText(10, 20, 'collecting samples...'));
    return;
  }
  const t0 = data[0][0], t1 = data[data.length - 1][0];
  let top = maxY;
  if (top === undefined) {
    top = 1;
    for (const row of data) for (const s of series) top = Math.max(top, s.value(row));
    top *= 1.1;
  }
  const x = (t) => pad + (W - 2 * pad) * (t - t0) / Math.max(1, t1 - t0);
  const y = (v) => H - pad - (H - 2 * pad) * v / top;
  for (const f of [0.25, 0.5, 0.75]) {
    svg.append(svgEl('line', { class: 'axis', x1: 0, x2: W, y1: y(top * f), y2: y(top * f) }));
  }
  series.forEach((s) => {
    const pts = data.map((row) => `${x(row[0]).toFixed(1)},${y(s.value(row)).toFixed(1)}`).join(' ');
    svg.append(svgEl('polyline', { points: pts, fill: 'none', stroke: s.color, 'stroke-width': 1.5,
      'vector-effect': 'non-scaling-stroke' }));
  });
  const last = data[data.length - 1];
  const label = series.map((s) => `${s.name} ${Math.round(s.value(last))}${unit}`).join('  ');
  svg.append(svgText(8, 14, `${label}   (max ${Math.round(maxY || top / 1.1)}${unit})`));
}

function renderCharts() {
  const pct = (a, b) => (b > 0 ? 100 * a / b : 0);
  drawChart($('#chart-queue'), [
    { name: 'pending', color: '#d99a12', value: (r) => r[1] },
    { name: 'running', color: '#2f6fd0', value: (r) => r[2] }], undefined, '');
  drawChart($('#chart-util'), [
    { name: 'CPU', color: '#2f6fd0', value: (r) => pct(r[4], r[3]) },
    { name: 'GPU', color: '#0f9f9a', value: (r) => pct(r[6], r[5]) }], 100, '%');
}

// ---- summary, timeline ------------------------------------------------------------------------

function renderSummary() {
  const s = state.summary;
  const box = $('#summary');
  box.textContent = '';
  if (!s) return;
  const up = Object.entries(s.nodes || {}).filter(([k]) => k !== 'down').reduce((a, [, v]) => a + v, 0);
  for (const [label, value] of [['pending', s.pending], ['running', s.running],
    ['CPUs', `${s.cpus_allocated}/${s.cpus}`], ['GPUs', `${s.gpus_allocated}/${s.gpus}`],
    ['nodes up', up], ['agents', s.agents_connected]]) {
    box.append(el('span', {}, `${label} `, el('b', { text: String(value) })));
  }
}

function renderTimeline() {
  const list = el('ol', { id: 'timeline', class: 'timeline' });
  for (const e of state.timeline.slice(-200).reverse()) {
    const t = new Date(e.time * 1000).toLocaleTimeString();
    list.append(el('li', { class: e.severity }, el('time', { text: t }), e.text));
  }
  $('#timeline').replaceWith(list);
}

// ---- node timeline: running jobs and reservations ---------------------------------------------

// "node[1-3,7],gpu01" -> ["node1", "node2", "node3", "node7", "gpu01"]: a hostlist as the API
// writes it (one bracket group per name, zero-padded ranges kept).
function expandHostlist(text) {
  const out = [];
  for (const part of (text || '').match(/[^,\[]+(\[[^\]]*\])?[^,]*/g) || []) {
    const m = part.match(/^([^\[]*)\[([^\]]*)\](.*)$/);
    if (!m) { out.push(part); continue; }
    for (const r of m[2].split(',')) {
      const [a, b] = r.split('-');
      const width = a.length;
      for (let k = Number(a); k <= Number(b === undefined ? a : b); k++) {
        out.push(m[1] + String(k).padStart(width, '0') + m[3]);
      }
    }
  }
  return out;
}

// A reservation's nodes: the API lists them; a hostlist string is expanded.
function reservationNodes(r) {
  return Array.isArray(r.nodes) ? r.nodes : expandHostlist(r.nodes);
}

const PLAN_HOURS = 24;
const PLAN_MAX_NODES = 64;  // rows drawn; beyond that only nodes with a reservation or a job

function renderPlan() {
  const svg = $('#plan');
  svg.textContent = '';
  const now = Date.now() / 1000;
  const horizon = now + PLAN_HOURS * 3600;
  const resv = state.reservations.filter((r) => r.end_time > now && r.start_time < horizon);
  const rows = new Map();  // node -> {jobs: [[start, end, label]], resv: [...]}
  const row = (name) => {
    if (!rows.has(name)) rows.set(name, { jobs: [], resv: [] });
    return rows.get(name);
  };
  let names = [...state.nodes.keys()];
  const busy = new Set();
  for (const r of resv) for (const n of reservationNodes(r)) busy.add(n);
  for (const j of state.jobs.values()) {
    if (j.state === 'RUNNING') for (const n of j.nodes) busy.add(n);
  }
  if (names.length > PLAN_MAX_NODES) names = names.filter((n) => busy.has(n));
  names.sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  names = names.slice(0, PLAN_MAX_NODES);
  for (const n of names) row(n);
  for (const j of state.jobs.values()) {
    if (j.state !== 'RUNNING' || !j.start) continue;
    const end = j.limit > 0 ? j.start + j.limit : horizon;
    for (const n of j.nodes) if (rows.has(n)) rows.get(n).jobs.push([j.start, end, `job ${j.key}`]);
  }
  for (const r of resv) {
    for (const n of reservationNodes(r)) {
      if (rows.has(n)) rows.get(n).resv.push([r.start_time, r.end_time, r.name, r.flags || '']);
    }
  }
  const W = 900, label = 80, rowH = 14, top = 14;
  const H = top + rowH * Math.max(1, rows.size) + 4;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.style.height = `${H}px`;
  const x = (t) => label + (W - label - 4) * (Math.min(Math.max(t, now), horizon) - now) / (horizon - now);
  for (let h = 0; h <= PLAN_HOURS; h += 6) {
    const tx = x(now + h * 3600);
    svg.append(svgEl('line', { class: 'axis', x1: tx, x2: tx, y1: top - 4, y2: H }));
    svg.append(svgText(tx + 2, 10, h === 0 ? 'now' : `+${h} h`));
  }
  let y = top;
  for (const [name, r] of rows) {
    svg.append(svgText(2, y + 10, name));
    for (const [s, e, what] of r.jobs) {
      const rect = svgEl('rect', { class: 'job', x: x(s), y: y + 2, width: Math.max(1, x(e) - x(s)), height: rowH - 4 });
      rect.append(Object.assign(svgEl('title', {}), { textContent: what }));
      svg.append(rect);
    }
    for (const [s, e, what, flags] of r.resv) {
      const maint = /MAINT/.test(flags);
      const rect = svgEl('rect', { class: `resv${maint ? ' maint' : ''}`, 'data-resv': what, x: x(s), y: y + 1,
        width: Math.max(1, x(e) - x(s)), height: rowH - 2 });
      rect.append(Object.assign(svgEl('title', {}), { textContent: `reservation ${what}` }));
      svg.append(rect);
    }
    y += rowH;
  }
  const list = el('ul', { id: 'resv-list', class: 'resv-list' });
  for (const r of state.reservations) {
    const t = (v) => new Date(v * 1000).toLocaleString();
    list.append(el('li', { 'data-resv': r.name },
      el('b', { text: r.name }), ` ${r.state} ${t(r.start_time)} to ${t(r.end_time)} on ${reservationNodes(r).join(',')}` +
      `${r.flags ? ' [' + r.flags + ']' : ''}` +
      `${r.users && r.users.length ? ' users ' + [].concat(r.users).join(',') : ''}` +
      `${r.accounts && r.accounts.length ? ' accounts ' + [].concat(r.accounts).join(',') : ''}`));
  }
  if (state.reservations.length === 0) list.append(el('li', { class: 'muted', text: 'no reservations' }));
  $('#resv-list').replaceWith(list);
  const legend = $('#plan-legend');
  legend.textContent = '';
  for (const [text, color] of [['running job', 'var(--alloc)'], ['reservation', '#8a5cc2'], ['maintenance', 'var(--down)']]) {
    const s = el('span', { text });
    s.style.setProperty('--c', color);
    legend.append(s);
  }
}

// ---- accounts: usage against limits -----------------------------------------------------------

// "cpu=8,mem=16G,gres/gpu=2" -> {cpu: 8, 'gres/gpu': 2, ...} (numbers only; mem is not drawn).
function parseTres(text) {
  const out = {};
  for (const part of (text || '').split(',')) {
    const [k, v] = part.split('=');
    if (k && v !== undefined && /^\d+$/.test(v)) out[k] = Number(v);
  }
  return out;
}

function usageCell(used, limit) {
  const td = el('td', { text: limit >= 0 ? `${used} / ${limit}` : String(used) });
  if (limit > 0) {
    const f = Math.min(1, used / limit);
    const b = el('span', { class: `usage${f >= 1 ? ' full' : f >= 0.8 ? ' near' : ''}` }, el('i'));
    b.firstChild.style.width = `${(100 * f).toFixed(0)}%`;
    td.append(b);
  }
  return td;
}

function renderAccounts() {
  const body = el('tbody');
  const db = state.accounting;
  if (!db) {
    $('#accounts-table tbody').replaceWith(body);
    return;
  }
  // Each account's ancestors, to add a job's usage to every association above it.
  const parent = new Map(db.accounts.map((a) => [a.name, a.parent || '']));
  const use = new Map();  // "account\tuser" ("" user: the account's subtree) -> usage
  const add = (key, j) => {
    if (!use.has(key)) use.set(key, { running: 0, cpus: 0, gpus: 0, pending: 0 });
    const u = use.get(key);
    if (j.state === 'RUNNING') { u.running += 1; u.cpus += j.cpus || 0; u.gpus += j.gpus || 0; }
    if (j.state === 'PENDING') u.pending += 1;
  };
  for (const j of state.jobs.values()) {
    if (j.state !== 'RUNNING' && j.state !== 'PENDING') continue;
    add(`${j.account}\t${j.user}`, j);
    for (let a = j.account, seen = 0; a && seen < 64; a = parent.get(a), seen++) add(`${a}\t`, j);
  }
  const fair = new Map();
  if (state.shares) {
    const c = Object.fromEntries(state.shares.columns.map((n, i) => [n, i]));
    for (const r of state.shares.rows) {
      fair.set(`${r[c.account]}\t${r[c.user]}`, { shares: r[c.raw_shares], fs: r[c.fairshare], depth: r[c.depth] });
    }
  }
  const order = state.shares ? state.shares.rows.map((r) => {
    const c = Object.fromEntries(state.shares.columns.map((n, i) => [n, i]));
    return [r[c.account], r[c.user], r[c.depth]];
  }) : db.associations.map((a) => [a.account, a.user, 0]);
  const assoc = new Map(db.associations.map((a) => [`${a.account}\t${a.user}`, a]));
  for (const [account, user, depth] of order) {
    const key = `${account}\t${user}`;
    const a = assoc.get(key) || { limits: {} };
    const l = a.limits || {};
    const u = use.get(key) || { running: 0, cpus: 0, gpus: 0, pending: 0 };
    const f = fair.get(key) || {};
    const grp = parseTres(l.grp_tres);
    const jobLimit = l.grp_jobs >= 0 ? l.grp_jobs : (user && l.max_jobs >= 0 ? l.max_jobs : -1);
    const limits = [];
    for (const [k, v] of [['GrpJobs', l.grp_jobs], ['MaxJobs', l.max_jobs], ['MaxSubmit', l.max_submit]]) {
      if (v >= 0) limits.push(`${k}=${v}`);
    }
    if (l.grp_tres) limits.push(`GrpTRES=${l.grp_tres}`);
    if (l.max_tres_per_job) limits.push(`MaxTRES=${l.max_tres_per_job}`);
    const tr = el('tr', { 'data-account': account, 'data-user': user });
    const name = el('td', { class: user ? '' : 'acct', text: user || account });
    name.style.paddingLeft = `${8 + 14 * (depth || 0) + (user ? 14 : 0)}px`;
    tr.append(name,
      el('td', { text: f.shares === undefined ? '' : String(f.shares) }),
      el('td', { text: f.fs === undefined || f.fs < 0 ? '' : Number(f.fs).toFixed(3) }),
      usageCell(u.running, jobLimit),
      usageCell(u.cpus, grp.cpu === undefined ? -1 : grp.cpu),
      usageCell(u.gpus, grp['gres/gpu'] === undefined ? -1 : grp['gres/gpu']),
      el('td', { text: String(u.pending) }),
      el('td', { class: 'muted', text: limits.join(' ') }));
    body.append(tr);
  }
  $('#accounts-table tbody').replaceWith(body);
}

// Accounting, shares and reservations change without events of their own: polled while in view.
async function pollAdmin() {
  if (document.visibilityState !== 'visible') return;
  const [resv, db, shares] = await Promise.allSettled([api('/reservations'), api('/accounting'),
    api('/shares')]);
  if (resv.status === 'fulfilled') state.reservations = resv.value.reservations || [];
  state.accounting = db.status === 'fulfilled' ? db.value : null;
  state.shares = shares.status === 'fulfilled' ? shares.value : null;
  $('#accounts-msg').textContent = db.status === 'fulfilled' ? '' :
    `(not shown: ${db.reason && db.reason.message ? db.reason.message : 'not visible'})`;
  state.dirty.plan = true;
  state.dirty.accounts = true;
}

// ---- detail panel -----------------------------------------------------------------------------

async function showDetail(key) {
  state.selected = key;
  $('#detail').classList.remove('hidden');
  $('#detail-msg').textContent = '';
  state.dirty.jobs = true;
  await refreshDetail();
}

async function refreshDetail() {
  const key = state.selected;
  if (!key) return;
  $('#detail-title').textContent = `Job ${key}`;
  let job;
  try {
    job = await api(`/jobs/${encodeURIComponent(key)}`);
  } catch (e) {
    $('#detail-msg').textContent = e.message;
    $('#detail-msg').className = 'msg error';
    return;
  }
  const r = job.request;
  const fields = [['State', job.state], ['Reason', job.reason], ['Name', r.name], ['User', r.user],
    ['Account', r.account], ['Partition', r.partition], ['QOS', r.qos], ['Priority', job.priority],
    ['Nodes', (job.nodes || []).join(',') || '-'], ['CPUs', job.alloc_cpus],
    ['Requested', `${r.min_nodes} node(s), ${r.ntasks} task(s) x ${r.cpus_per_task} cpu` +
      (r.gpus_per_node ? `, ${r.gpus_per_node} gpu/node` : '')],
    ['Time limit', r.time_limit_s > 0 ? fmtDuration(r.time_limit_s) : 'UNLIMITED'],
    ['Submitted', job.submit_time ? new Date(job.submit_time * 1000).toLocaleString() : '-'],
    ['Started', job.start_time ? new Date(job.start_time * 1000).toLocaleString() : '-'],
    ['Ended', job.end_time ? new Date(job.end_time * 1000).toLocaleString() : '-'],
    ['Exit', `${job.exit_code}:${job.exit_signal}`], ['Restarts', job.restart_count],
    ['Work dir', r.work_dir], ['Command', r.command || '-']];
  const dl = el('dl', { id: 'detail-fields' });
  for (const [k, v] of fields) dl.append(el('dt', { text: k }), el('dd', { text: String(v ?? '') }));
  $('#detail-fields').replaceWith(dl);
  $('#detail-cancel').disabled = !(job.state === 'PENDING' || job.state === 'RUNNING');
  const file = $('#detail-file').value;
  const out = $('#detail-output');
  try {
    const o = await api(`/jobs/${encodeURIComponent(key)}/output?tail=200&file=${file}`);
    out.textContent = (o.truncated ? '...\n' : '') + o.text || '(empty)';
    out.title = o.path;
  } catch (e) {
    out.textContent = e.message;
  }
}

async function cancelSelected() {
  const key = state.selected;
  const msg = $('#detail-msg');
  try {
    const res = await api('/jobs/cancel', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ids: [key] }) });
    if (res.errors && res.errors.length) throw new Error(res.errors.map((e) => `${e.id}: ${e.message}`).join('; '));
    msg.textContent = `cancelled ${key}`;
    msg.className = 'msg ok';
  } catch (e) {
    msg.textContent = e.message;
    msg.className = 'msg error';
  }
}

// ---- submit form ------------------------------------------------------------------------------

function parseTimeLimit(text) {
  text = text.trim();
  if (!text) return 0;
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`invalid time limit '${text}'`);
  const [, d, a, b, c] = m;
  // Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
  if (d !== undefined) return ((+d * 24 + +a) * 60 + (+b || 0)) * 60 + (+c || 0);
  if (c !== undefined) return (+a * 60 + +b) * 60 + +c;
  if (b !== undefined) return +a * 60 + +b;
  return +a * 60;
}

async function submitForm(ev) {
  ev.preventDefault();
  const out = $('#submit-result');
  out.className = 'msg';
  out.textContent = 'submitting...';
  try {
    const command = $('#f-command').value.trim();
    let script = $('#f-script').value;
    if (!command && !script.trim()) throw new Error('give a command or a batch script');
    if (command) script = `#!/bin/sh\n# This script was created by the shoal dashboard (--wrap).\n\n${command}\n`;
    const nodes = parseInt($('#f-nodes').value || '1', 10);
    const job = {
      name: $('#f-name').value.trim() || (command ? 'wrap' : 'sbatch'),
      min_nodes: nodes, max_nodes: nodes, ntasks: nodes,
      cpus_per_task: parseInt($('#f-cpus').value || '1', 10),
      time_limit_s: parseTimeLimit($('#f-time').value),
      work_dir: $('#f-workdir').value.trim(),
    };
    if (command) job.command = command;
    const part = $('#f-partition').value;
    if (part) job.partition = part;
    const res = await api('/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ script, job }) });
    out.textContent = `Submitted batch job ${res.job_id}`;
    out.className = 'msg ok';
  } catch (e) {
    out.textContent = `error: ${e.message}`;
    out.className = 'msg error';
  }
}

// ---- loading and the event stream -------------------------------------------------------------

function jobsFromTable(table) {
  const jobs = new Map();
  const col = Object.fromEntries(table.columns.map((c, i) => [c, i]));
  for (const row of table.rows) {
    const r = rowFrom((k) => row[col[k]]);
    jobs.set(r.key, r);
  }
  return jobs;
}

async function reloadJobs() {
  state.jobs = jobsFromTable(await api(`/jobs?fields=${JOB_FIELDS.join(',')}`));
  state.dirty.jobs = true;
}

async function loadAll() {
  const [table, nodes, history, timeline] = await Promise.all([
    api(`/jobs?fields=${JOB_FIELDS.join(',')}`), api('/nodes?with=partitions'),
    api('/stats/history'), api('/events/timeline')]);
  state.jobs = jobsFromTable(table);
  state.nodes = new Map(nodes.nodes.map((n) => [n.name, n]));
  const sel = $('#f-partition');
  if (sel.options.length <= 1) {
    for (const p of nodes.partitions || []) sel.append(el('option', { value: p.name, text: p.name }));
  }
  state.samples = history.samples;
  state.timeline = timeline.events;
  for (const k of Object.keys(state.dirty)) state.dirty[k] = true;
}

// The GPUs' readings come with the agents' heartbeats, not as events: polled with the nodes.
async function pollGpuReadings() {
  if (document.visibilityState !== 'visible') return;
  if (![...state.nodes.values()].some((n) => n.gpus > 0)) return;
  let body;
  try {
    body = await api('/nodes');
  } catch (e) {
    return;  // the next poll tries again
  }
  const readings = new Map();
  for (const n of body.nodes || []) if (n.gpu_readings) readings.set(n.name, n.gpu_readings);
  if (readings.size > 0 || state.gpuReadings.size > 0) {
    state.gpuReadings = readings;
    state.dirty.nodes = true;
  }
}

let source = null;
function connect() {
  if (source) source.close();
  source = new EventSource(`${API}/events`);
  const conn = $('#conn');
  source.addEventListener('hello', () => {
    conn.textContent = 'live';
    conn.className = 'conn on';
    // Subscribed first, then loaded: nothing falls between the two.
    loadAll().catch((e) => { conn.textContent = `load failed: ${e.message}`; });
  });
  source.addEventListener('resync', () => loadAll().catch(() => {}));
  source.addEventListener('job', (ev) => {
    const r = rowFromDocument(JSON.parse(ev.data));
    state.jobs.set(r.key, r);
    state.dirty.jobs = true;
    if (r.key === state.selected) state.dirty.detail = true;
  });
  source.addEventListener('node', (ev) => {
    const n = JSON.parse(ev.data);
    state.nodes.set(n.name, n);
    state.dirty.nodes = true;
  });
  source.addEventListener('summary', (ev) => {
    const s = JSON.parse(ev.data);
    state.summary = s;
    const last = state.samples[state.samples.length - 1];
    if (!last || s.time - last[0] >= 1.95) {
      let total = 0, down = 0;
      for (const [k, v] of Object.entries(s.nodes)) {
        total += v;
        if (k === 'down' || k.startsWith('drain')) down += v;
      }
      state.samples.push([s.time, s.pending, s.running, s.cpus, s.cpus_allocated, s.gpus,
        s.gpus_allocated, total, down]);
      if (state.samples.length > MAX_SAMPLES) state.samples.shift();
      state.dirty.charts = true;
    }
    state.dirty.summary = true;
  });
  source.addEventListener('timeline', (ev) => {
    state.timeline.push(JSON.parse(ev.data));
    if (state.timeline.length > 400) state.timeline.splice(0, 200);
    state.dirty.timeline = true;
  });
  source.onerror = () => {
    conn.textContent = 'reconnecting';
    conn.className = 'conn off';
  };
}

// ---- live simulation (shoal sim live) ----------------------------------------------------------

// The rate slider is logarithmic: 0..1000 maps onto 0.1..50 jobs a minute.
const simRate = {
  toRate: (v) => Math.round(0.1 * Math.pow(500, v / 1000) * 10) / 10,
  toSlider: (r) => Math.round(1000 * Math.log(Math.max(0.1, Math.min(50, r)) / 0.1) / Math.log(500)),
};
let simEditing = false;  // the user is changing the form: polling must not overwrite it

async function pollSim() {
  let live;
  try {
    live = await api('/sim/live');
  } catch (e) {
    $('#sim-section').classList.add('hidden');
    return;
  }
  $('#sim-section').classList.remove('hidden');
  const st = live.status || {};
  $('#sim-status').textContent = `${st.nodes_up}/${st.nodes} nodes up, ${st.submitted} jobs ` +
    `submitted, ${st.failures} node failures, now ${st.job_rate_per_min} jobs/min`;
  if (simEditing) return;
  const s = live.settings;
  const rate = s.job_rate_per_min > 0 ? s.job_rate_per_min : st.job_rate_per_min || 2;
  $('#sim-rate').value = simRate.toSlider(rate);
  $('#sim-rate-text').textContent = `${rate}`;
  $('#sim-preset').value = s.job_rate_per_min > 0 ? '' : s.preset;
  $('#sim-fail-low').value = s.failure_pct_per_min[0];
  $('#sim-fail-high').value = s.failure_pct_per_min[1];
}

async function applySim(ev) {
  ev.preventDefault();
  const preset = $('#sim-preset').value;
  const body = {
    job_rate_per_min: preset ? 0 : simRate.toRate(Number($('#sim-rate').value)),
    failure_pct_per_min: [Number($('#sim-fail-low').value), Number($('#sim-fail-high').value)],
  };
  if (preset) body.preset = preset;
  try {
    await api('/sim/live/settings', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body) });
    $('#sim-msg').textContent = 'applied';
    $('#sim-msg').className = 'msg ok';
  } catch (e) {
    $('#sim-msg').textContent = e.message;
    $('#sim-msg').className = 'msg error';
  }
  simEditing = false;
  pollSim();
}

let lastUsageDraw = 0;
function render() {
  const d = state.dirty;
  // The timeline and the accounts' usage follow the jobs, at most once a second.
  if (d.jobs && Date.now() - lastUsageDraw > 1000) {
    lastUsageDraw = Date.now();
    d.plan = d.accounts = true;
  }
  const parts = { jobs: renderJobs, nodes: renderNodes, charts: renderCharts, summary: renderSummary,
    timeline: renderTimeline, detail: refreshDetail, plan: renderPlan, accounts: renderAccounts };
  for (const [k, draw] of Object.entries(parts)) {
    if (!d[k]) continue;
    d[k] = false;  // cleared first: a part that fails is not redrawn in a loop
    try {
      draw();
    } catch (e) {
      window.__errors.push(`${k}: ${e.message}`);
    }
  }
}

function init() {
  api('/health').then((h) => { $('#cluster').textContent = h.cluster_name || ''; }).catch(() => {});
  $('#job-filter').addEventListener('input', () => { state.dirty.jobs = true; });
  $('#state-filter').addEventListener('change', () => { state.dirty.jobs = true; });
  for (const th of document.querySelectorAll('#job-table th')) {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : 1 };
      state.dirty.jobs = true;
    });
  }
  $('#job-table').addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-id]');
    if (tr) showDetail(tr.dataset.id);
  });
  $('#detail-close').addEventListener('click', () => {
    state.selected = null;
    $('#detail').classList.add('hidden');
    state.dirty.jobs = true;
  });
  $('#detail-cancel').addEventListener('click', cancelSelected);
  $('#detail-refresh').addEventListener('click', refreshDetail);
  $('#detail-file').addEventListener('change', refreshDetail);
  $('#submit-form').addEventListener('submit', submitForm);
  tokenFromFragment();
  showTokenUser();
  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(token() ? '' : $('#token').value);
    $('#token').value = '';
    reloadJobs().catch(() => {});
  });
  $('#sim-form').addEventListener('submit', applySim);
  $('#sim-form').addEventListener('input', () => {
    simEditing = true;
    $('#sim-rate-text').textContent = `${simRate.toRate(Number($('#sim-rate').value))}`;
  });
  pollSim();
  setInterval(pollSim, 2000);
  setInterval(pollGpuReadings, 5000);
  pollAdmin().catch(() => {});
  setInterval(() => pollAdmin().catch(() => {}), 10000);
  connect();
  setInterval(render, 100);
  // Running times advance without events.
  setInterval(() => { state.dirty.jobs = true; }, 5000);
  // Pending jobs' reasons change in every scheduling pass without an event of their own:
  // reload the table now and then while the page is in view.
  setInterval(() => {
    if (document.visibilityState === 'visible' && source && source.readyState === 1) {
      reloadJobs().catch(() => {});
    }
  }, 15000);
}

document.addEventListener('DOMContentLoaded', init);
