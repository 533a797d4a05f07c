/*
 * The control-room page: plain JavaScript, no build step. One overview on connect, then the live
 * stream (/events): `values` (changed points, once a second), `alarms` (the active list, at each
 * change), `status` (devices, sinks, store, every 2 s). Text always goes in through textContent.
 */
'use strict';

const state = { overview: null, session: { actions: false, operator: null, csrf: null }, selected: null, span: '1h', chart: null, trend: null };
const $ = (id) => document.getElementById(id);
const PRIO_TEXT = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };
const STATE_TEXT = { unack: 'Unacknowledged', acked: 'Acknowledged', 'rtn-unack': 'Returned, unacknowledged', shelved: 'Shelved', 'out-of-service': 'Out of service', suppressed: 'Suppressed: device down', normal: 'Normal' };

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}

const key = (d, p) => d + '\u0000' + p;
const time = (ts) => (ts ? new Date(ts).toLocaleTimeString([], { hour12: false }) : '–');
function age(ts) {
  if (!ts) return '–';
  const s = Math.max(0, Math.round((Date.now() - ts) / 1000));
  return s < 60 ? s + ' s ago' : s < 3600 ? Math.round(s / 60) + ' min ago' : Math.round(s / 3600) + ' h ago';
}
function duration(s) {
  if (s === null || s === undefined) return 'not draining';
  if (s === 0) return 'empty';
  return s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : (s / 3600).toFixed(1) + ' h';
}
function fmt(v, precision) {
  if (v === null || v === undefined) return '–';
  if (typeof precision === 'number') return v.toFixed(precision);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(5)));
}
const bytes = (n) => (n === null || n === undefined ? '–' : n >= 1073741824 ? (n / 1073741824).toFixed(2) + ' GB' : (n / 1048576).toFixed(1) + ' MB');

function message(text, error) {
  const m = $('message');
  m.textContent = text || '';
  m.className = error ? 'error' : '';
  if (text && !error) setTimeout(() => { if (m.textContent === text) m.textContent = ''; }, 6000);
}

// ------------------------------------------------------------------ session and actions

function canAct() {
  return state.session.actions && !!state.session.operator;
}

function renderSession() {
  const s = state.session;
  $('login').hidden = !s.actions || !!s.operator;
  $('who').hidden = !s.operator;
  $('operator').textContent = s.operator ? 'Operator: ' + s.operator : '';
  $('readonly').hidden = s.actions;
}

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', ...(state.session.csrf ? { 'x-csrf-token': state.session.csrf } : {}) },
    body: JSON.stringify(body || {}),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error || res.status + ' ' + res.statusText);
  return data;
}

async function act(path, body, done) {
  try {
    const r = await post(path, body);
    message(done(r));
  } catch (err) {
    message(err.message, true);
    if (/log in|session/.test(err.message)) await refreshSession();
  }
}

async function refreshSession() {
  const r = await fetch('/api/session', { credentials: 'same-origin' });
  state.session = await r.json();
  renderSession();
  renderAlarms();
  renderDevices();
}

$('login').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    state.session = await post('/api/login', { name: $('login-name').value, secret: $('login-secret').value });
    $('login-secret').value = '';
    message('Logged in as ' + state.session.operator);
  } catch (err) {
    message(err.message, true);
  }
  renderSession();
  renderAlarms();
  renderDevices();
});
$('logout').addEventListener('click', async () => {
  await act('/api/logout', {}, () => 'Logged out');
  await refreshSession();
});

// ------------------------------------------------------------------ rendering

function renderHealth(h) {
  const e = $('health');
  e.textContent = h.healthy ? (h.warnings.length ? 'healthy, ' + h.warnings.length + ' warning(s)' : 'healthy') : 'UNHEALTHY: ' + h.problems.join('; ');
  e.className = 'pill' + (h.healthy ? '' : ' abnormal');
  e.title = [...h.problems, ...h.warnings].join('\n');
}

function actionButton(label, onclick, title) {
  const b = el('button', { type: 'button', onclick, title });
  b.textContent = label;
  if (!canAct()) {
    b.disabled = true;
    b.title = 'log in as an operator to act';
  }
  return b;
}

function renderAlarms() {
  const o = state.overview;
  if (!o) return;
  const body = $('alarms').tBodies[0];
  // Suppressed alarms (their device is down, ISA-18.2 designed suppression) are shown, last and calm:
  // the device-down alarm is the one that asks for attention.
  const shown = o.alarms.filter((a) => a.state !== 'normal');
  const rows = [...shown.filter((a) => a.state !== 'suppressed'), ...shown.filter((a) => a.state === 'suppressed')];
  const unack = rows.filter((a) => a.state === 'unack' || a.state === 'rtn-unack').length;
  const suppressed = rows.length - shown.filter((a) => a.state !== 'suppressed').length;
  const active = rows.length - suppressed;
  $('alarm-count').textContent = (active ? active + (unack ? ' (' + unack + ' unacknowledged)' : '') : '') + (suppressed ? (active ? ', ' : '') + suppressed + ' suppressed' : '');
  $('no-alarms').hidden = rows.length > 0;
  body.replaceChildren(
    ...rows.map((a) => {
      const cells = [
        el('td', {}, el('span', { class: 'prio ' + a.priority }, PRIO_TEXT[a.priority] || a.priority)),
        el('td', { class: 'state', title: a.state === 'suppressed' ? 'shown, not annunciated: ' + a.device + '/connection/device-down stands for it' : '' }, STATE_TEXT[a.state] || a.state),
        el('td', { title: a.since ? new Date(a.since).toISOString() : '' }, time(a.since)),
        el('td', {}, a.device + ' / ' + a.point + ' ', el('span', { class: 'quiet' }, a.kind)),
        el('td', {}, a.condition || '–'),
        el('td', { class: 'num' }, fmt(a.value)),
      ];
      const cell = el('td', { class: 'act' });
      if (state.session.actions) {
        if (a.state === 'unack' || a.state === 'rtn-unack') {
          cell.append(actionButton('Acknowledge', () => act_ack(a.id), 'acknowledge ' + a.id));
        }
        if (a.state !== 'shelved' && a.state !== 'out-of-service' && a.state !== 'suppressed') {
          const sel = el('select', { 'aria-label': 'shelve for' }, ...['15m', '1h', '8h'].map((d) => el('option', { value: d }, d)));
          sel.disabled = !canAct();
          cell.append(' ', sel, ' ', actionButton('Shelve', () => act_shelve(a.id, sel.value), 'shelve ' + a.id));
        } else if (a.state === 'shelved') {
          cell.append(actionButton('Unshelve', () => act_cmd({ action: 'unshelve', id: a.id }), 'unshelve ' + a.id));
        }
      }
      cells.push(cell);
      return el('tr', { class: a.state, dataset: { alarm: a.id } }, ...cells);
    }),
  );
  markPointsInAlarm();
}

function act_ack(id) {
  return act_cmd({ action: 'ack', id });
}
function act_shelve(id, span) {
  return act_cmd({ action: 'shelve', id, for: span });
}
function act_cmd(cmd) {
  return act('/api/alarms/command', cmd, (r) => 'Done: ' + r.action + ' ' + r.id + ' → ' + (STATE_TEXT[r.state] || r.state));
}

function renderDevices() {
  const o = state.overview;
  if (!o) return;
  $('devices').tBodies[0].replaceChildren(
    ...o.devices.map((d) => {
      const cell = el('td', { class: 'act' });
      if (state.session.actions) {
        const b = actionButton('Acknowledge all', () => act('/api/devices/ack', { device: d.device }, (r) => r.acknowledged.length + ' alarm(s) of ' + r.device + ' acknowledged'), 'acknowledge every alarm of ' + d.device);
        if (!d.unacknowledged) b.disabled = true;
        cell.append(b);
      }
      return el(
        'tr',
        { class: 'pick', dataset: { device: d.device }, onclick: (e) => { if (e.target.tagName !== 'BUTTON') { state.device = d.device; renderPoints(); } } },
        el('td', {}, d.device),
        el('td', { class: d.health === 'down' ? 'down' : d.health === 'up' ? 'up' : 'quiet', title: d.lastError || '' }, d.health === 'down' ? 'DOWN' : d.health),
        el('td', { title: time(d.lastPollTs) }, age(d.lastPollTs)),
        el('td', { class: 'num' }, d.points),
        el('td', { class: 'num' }, el('span', { class: d.alarms ? 'inalarm' : '' }, d.alarms || '–'), d.suppressed ? el('span', { class: 'quiet' }, ' + ' + d.suppressed + ' suppressed') : null),
        cell,
      );
    }),
  );
}

// Only the rows on screen are in the DOM: at 5,000 points a full table relaid out every second
// would keep a wall screen's browser busy. The rest live in `points` and are drawn on demand.
const MAX_ROWS = 400;
const points = new Map();
const pointCells = new Map();

function visiblePoints() {
  const f = $('filter').value.trim().toLowerCase();
  const dev = state.device;
  const out = [];
  let total = 0;
  for (const p of state.overview.points) {
    if (dev && p.device !== dev) continue;
    if (f && !(p.device + '/' + p.point).toLowerCase().includes(f)) continue;
    total++;
    if (out.length < MAX_ROWS) out.push(p);
  }
  return { shown: out, total };
}

function renderPoints() {
  const o = state.overview;
  points.clear();
  for (const p of o.points) points.set(key(p.device, p.point), p);
  if (state.device === undefined) state.device = o.points.length > MAX_ROWS && o.devices.length ? o.devices[0].device : null;
  const { shown, total } = visiblePoints();
  pointCells.clear();
  const rows = shown.map((p) => {
    const value = el('td', { class: 'num' });
    const quality = el('td', {});
    const updated = el('td', { class: 'quiet' });
    const row = el('tr', { class: 'pick', dataset: { point: p.device + '/' + p.point }, title: p.description || '', onclick: () => selectPoint(p) }, el('td', {}, p.device), el('td', {}, p.point), value, el('td', {}, p.unit || ''), quality, updated);
    const cells = { p, value, quality, updated, row };
    pointCells.set(key(p.device, p.point), cells);
    drawPoint(cells);
    return row;
  });
  $('points').tBodies[0].replaceChildren(...rows);
  $('points-note').textContent = total > shown.length ? 'showing ' + shown.length + ' of ' + total + ' points: pick a device or filter' : total + ' point' + (total === 1 ? '' : 's');
  $('device-pick').replaceChildren(el('option', { value: '' }, 'all devices'), ...o.devices.map((d) => el('option', { value: d.device, selected: d.device === state.device }, d.device)));
  markPointsInAlarm();
}

function setPoint(p, value, ts, quality) {
  p.value = value;
  p.ts = ts;
  p.quality = quality;
  const c = pointCells.get(key(p.device, p.point));
  if (c) drawPoint(c);
}

function drawPoint(c) {
  const { value, ts, quality } = c.p;
  c.value.textContent = quality === 'good' ? fmt(value, c.p.precision) : '–';
  c.quality.textContent = quality === null ? '–' : quality;
  c.quality.className = quality && quality !== 'good' ? 'bad' : '';
  c.value.classList.toggle('bad', !!quality && quality !== 'good');
  c.updated.textContent = time(ts);
}

function markPointsInAlarm() {
  const o = state.overview;
  if (!o) return;
  const inAlarm = new Set(o.alarms.filter((a) => a.state === 'unack' || a.state === 'acked' || a.state === 'rtn-unack').map((a) => key(a.device, a.point)));
  for (const [k, c] of pointCells) c.value.classList.toggle('inalarm', inAlarm.has(k));
}

// Drain figures are the sink's own (readings delivered per second, time to empty, falling behind).
function renderSinks(sinks) {
  $('sinks').tBodies[0].replaceChildren(
    ...sinks.flatMap((s) => {
      // The sink's drain is measured in readings: a sink that forwards none (alarms only) has none to show.
      const d = s.lag.readings ? s.drain : null;
      const row = el(
        'tr',
        { dataset: { sink: s.name } },
        el('td', {}, s.name),
        el('td', { class: s.connected ? '' : 'down', title: s.lastError ? s.lastError.code + ': ' + s.lastError.message : '' }, s.connected ? 'connected' : 'DISCONNECTED'),
        el('td', { class: 'num' }, s.pending + ' records' + (d && d.pendingReadings ? ' (' + d.pendingReadings + ' readings)' : '')),
        el('td', { class: 'num' }, !d || d.deliveredPerS === null ? '–' : d.deliveredPerS + ' readings/s'),
        el('td', { class: 'num' + (d && d.pendingReadings && d.emptyInS === null ? ' bad' : '') }, d ? duration(d.emptyInS) : '–'),
      );
      if (!d || !d.fallingBehind) return [row];
      return [row, el('tr', { class: 'warning' }, el('td', { colspan: 5, class: 'bad' }, 'FALLING BEHIND: ' + (d.warning || 'the backlog grows while connected')))];
    }),
  );
}

function renderStore(s) {
  const dl = $('store');
  if (!s) return dl.replaceChildren(el('dt', {}, 'store'), el('dd', {}, 'not open'));
  const items = [
    ['Health', s.health.state === 'ok' ? 'ok' : 'DEGRADED: ' + s.health.reason, s.health.state !== 'ok'],
    ['Disk', bytes(s.diskBytes) + ' of ' + bytes(s.diskBudget) + (s.diskBytes ? ' (' + Math.round((100 * s.diskBytes) / s.diskBudget) + ' %)' : ''), s.diskBytes > 0.9 * s.diskBudget],
    ['Records', Object.entries(s.records).map(([k, v]) => v + ' ' + k).join(', ')],
    ['Last seq', s.head],
    ['Buffered in memory', s.readingsBuffered + ' readings', s.readingsBuffered > 0],
    ['Dropped', Object.entries(s.readingsDropped).map(([k, v]) => v + ' ' + k).join(', '), Object.values(s.readingsDropped).some((v) => v > 0)],
  ];
  dl.replaceChildren(...items.flatMap(([k, v, bad]) => [el('dt', {}, k), el('dd', { class: bad ? 'bad' : '' }, v)]));
}

function renderAll() {
  const o = state.overview;
  $('agent').textContent = o.agent.id;
  $('site').textContent = o.agent.site;
  document.title = o.agent.id + ' · Halfweg control room';
  state.session = o.session;
  renderSession();
  renderHealth(o.health);
  renderAlarms();
  renderDevices();
  renderPoints();
  renderSinks(o.sinks);
  renderStore(o.store);
}

$('filter').addEventListener('input', () => renderPoints());
$('device-pick').addEventListener('change', () => {
  state.device = $('device-pick').value || null;
  renderPoints();
});

// ------------------------------------------------------------------ trend

async function selectPoint(p) {
  state.selected = p;
  for (const c of pointCells.values()) c.row.classList.toggle('selected', c.p === p);
  $('trend-section').hidden = false;
  $('trend-name').textContent = p.device + ' / ' + p.point + (p.unit ? ' [' + p.unit + ']' : '');
  await loadTrend();
}

for (const b of document.querySelectorAll('.trend-controls button')) {
  b.addEventListener('click', async () => {
    state.span = b.dataset.span;
    for (const x of document.querySelectorAll('.trend-controls button')) x.classList.toggle('on', x === b);
    await loadTrend();
  });
}

async function loadTrend() {
  const p = state.selected;
  if (!p) return;
  const hours = state.span === '24h' ? 24 : 1;
  const to = Date.now();
  const url = '/api/points/' + encodeURIComponent(p.device) + '/' + encodeURIComponent(p.point) + '/history?from=' + (to - hours * 3600000) + '&to=' + to;
  const h = await (await fetch(url, { credentials: 'same-origin' })).json();
  let series;
  if (h.source === 'raw') {
    series = { x: h.samples.map((s) => s[0] / 1000), y: h.samples.map((s) => s[1]), live: true };
    $('trend-note').textContent = h.readings ? h.readings + ' readings held by the store' + (h.truncated ? ' (truncated)' : '') + '; live values added as they come' : 'the store holds no raw readings for this hour (store.keepReadings); live values from now on';
  } else {
    series = { x: h.samples.map((s) => s[0] / 1000), y: h.samples.map((s) => s[2]), live: false };
    $('trend-note').textContent = h.window ? h.samples.length + ' ' + h.window + ' aggregates (mean)' : 'no stored aggregates for this span';
  }
  state.trend = series;
  drawTrend();
}

function drawTrend() {
  const host = $('trend');
  const s = state.trend;
  if (state.chart) state.chart.destroy();
  state.chart = null;
  if (typeof uPlot === 'undefined') return;
  const width = Math.max(280, host.clientWidth || 600);
  state.chart = new uPlot(
    {
      width,
      height: 260,
      cursor: { drag: { x: true } },
      scales: { x: { time: true } },
      legend: { show: true },
      series: [{}, { label: state.selected.point, stroke: '#1e1e1e', width: 1.5, spanGaps: false }],
      axes: [{ stroke: '#5a5a5a', grid: { stroke: '#c8c8c8' } }, { stroke: '#5a5a5a', grid: { stroke: '#c8c8c8' } }],
    },
    [s.x, s.y],
    host,
  );
}

window.addEventListener('resize', () => {
  if (state.chart) state.chart.setSize({ width: Math.max(280, $('trend').clientWidth), height: 260 });
});

// ------------------------------------------------------------------ live stream

function connect() {
  const es = new EventSource('/events');
  es.addEventListener('open', () => {
    $('live').textContent = 'live';
    $('live').className = 'pill';
  });
  es.addEventListener('error', () => {
    $('live').textContent = 'reconnecting…';
    $('live').className = 'pill abnormal';
  });
  es.addEventListener('overview', (e) => {
    state.overview = JSON.parse(e.data);
    renderAll();
    document.body.dataset.ready = '1';
  });
  es.addEventListener('values', (e) => {
    const sel = state.selected;
    let grew = false;
    for (const [d, p, v, ts, q] of JSON.parse(e.data)) {
      const point = points.get(key(d, p));
      if (point) setPoint(point, v, ts, q);
      if (sel && state.trend && state.trend.live && sel.device === d && sel.point === p) {
        state.trend.x.push(ts / 1000);
        state.trend.y.push(q === 'good' ? v : null);
        grew = true;
      }
    }
    if (grew && state.chart) state.chart.setData([state.trend.x, state.trend.y]);
  });
  es.addEventListener('alarms', (e) => {
    state.overview.alarms = JSON.parse(e.data);
    renderAlarms();
  });
  es.addEventListener('status', (e) => {
    const s = JSON.parse(e.data);
    Object.assign(state.overview, { devices: s.devices, sinks: s.sinks, store: s.store, health: s.health });
    renderHealth(s.health);
    renderDevices();
    renderSinks(s.sinks);
    renderStore(s.store);
  });
}

connect();
