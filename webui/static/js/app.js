// golocust web UI: polls the Locust-compatible API and renders it.
import { $, $$, el, setText, show, round, fmtMs, fmtTime, fmtBytes, getJSON, post } from './dom.js';
import { Charts } from './charts.js';
import { initClassPicker } from './classpicker.js';
import { decorate as decorateExemplars, restore as restoreExemplars } from './exemplars.js';
import { renderBaseline } from './baseline.js';

const STATS_INTERVAL = 2000;
const SLOW_INTERVAL = 5000;
const TABS = ['stats', 'charts', 'failures', 'exceptions', 'ratio', 'download', 'workers', 'logs', 'audit', 'baseline'];

const ui = {
  config: { user_classes: [], is_distributed: false, max_rows: 500, can_control: true, can_admin: true },
  state: '',
  formMode: 'start', // start | edit
  tab: 'stats',
  sortKey: '',
  sortDir: 1,
  lastStats: null,
  charts: null,
};

// ---- top bar and state ----------------------------------------------------

function renderMonitor(s) {
  setText('#m-host', s.host || '-');
  $('#m-host').title = s.host || '';
  setText('#m-state', (s.state || '-').toUpperCase());
  $('#m-state').className = `state state-${s.state}`;
  setText('#m-users', s.user_count);
  show('#m-workers-box', ui.config.is_distributed);
  setText('#m-workers', s.worker_count);
  setText('#m-rps', round(s.total_rps, 1));
  setText('#m-fail', `${Math.round((s.fail_ratio || 0) * 100)}%`);
  const counted = typeof s.iterations === 'number';
  show('#m-iter-box', counted);
  if (counted) setText('#m-iter', `${s.iterations} run, ${s.dropped_iterations} dropped`);
  const lag = s.generator_lag;
  show('#m-lag-box', !!lag);
  if (lag) {
    const f = (v) => Number(v).toFixed(3);
    setText('#m-lag', `${f(lag.p50)} / ${f(lag.p99)} ms`);
    $('#m-lag-box').title = `generator lag p50 ${f(lag.p50)} ms, p99 ${f(lag.p99)} ms; corrected latency p50 ${f(lag.corrected_p50)} ms, p99 ${f(lag.corrected_p99)} ms`;
  }
  const ended = s.users_ended_early || {};
  const reasons = Object.keys(ended).sort();
  show('#m-ended-box', reasons.length > 0);
  if (reasons.length > 0) {
    setText('#m-ended', reasons.reduce((n, r) => n + ended[r], 0));
    $('#m-ended-box').title = reasons.map((r) => `${ended[r]} ${r}`).join('\n');
  }
}

// noWorkers: a master with no live worker cannot start a test (409).
function renderWorkerGate(s) {
  const live = (s.workers || []).filter((w) => w.state !== 'missing').length;
  const blocked = ui.config.is_distributed && live === 0 && ui.formMode === 'start';
  show('#no-workers', blocked);
  $('#f-submit').disabled = blocked;
}

function applyState(state) {
  const changed = state !== ui.state;
  ui.state = state;
  const running = state === 'running' || state === 'spawning';
  // A viewer sees the run but none of the controls it may not use.
  const ctl = ui.config.can_control;
  // A shape sets the user count: no Edit (as Locust's shape tests).
  const shaped = ui.lastStats && typeof ui.lastStats.shape_driven === 'boolean' ? ui.lastStats.shape_driven : ui.config.shape_driven;
  show('#btn-edit', ctl && running && !shaped);
  show('#btn-stop', ctl && running);
  show('#btn-new', ctl && state === 'stopped');
  show('#btn-reset', ctl && state !== 'ready' && state !== '');
  const ready = state === 'ready';
  show('#run-panel', !ready || !ctl);
  const dialog = $('#swarm-dialog');
  if (!dialog.open) {
    show('#start-panel', ready && ctl);
    if (ready && changed) setFormMode('start');
  }
}

// ---- start / edit form ----------------------------------------------------

function clearErrors() {
  for (const e of $$('.field-error')) e.textContent = '';
  for (const i of $$('#swarm-form input')) i.classList.remove('invalid');
}

function showError(field, message) {
  const target = $$('.field-error').find((e) => e.dataset.field === (field || '')) ||
    $$('.field-error').find((e) => e.dataset.field === '');
  // the JSON message names the field; next to the field that is redundant
  const prefix = `${field}: `;
  target.textContent = field && message.startsWith(prefix) ? message.slice(prefix.length) : message;
  const input = field && $(`#swarm-form [name="${CSS.escape(field)}"]`);
  if (input) input.classList.add('invalid');
}

function setFormMode(mode) {
  ui.formMode = mode;
  clearErrors();
  const edit = mode === 'edit';
  setText('#form-title', edit ? 'Edit running load test' : 'Start new load test');
  setText('#f-submit', edit ? 'Update' : 'Start');
  for (const e of $$('.full-only')) e.hidden = edit;
  if (ui.lastStats) renderWorkerGate(ui.lastStats);
  if (edit && ui.lastStats) $('#f-users').value = String(ui.lastStats.user_count);
  renderShapeChoice();
}

function openDialog(mode) {
  setFormMode(mode);
  const panel = $('#start-panel');
  const dialog = $('#swarm-dialog');
  dialog.append(panel);
  panel.hidden = false;
  show('#f-cancel', true);
  dialog.showModal();
  $('#f-users').focus();
}

function closeDialog() {
  const dialog = $('#swarm-dialog');
  if (dialog.open) dialog.close();
}

function onDialogClose() {
  const panel = $('#start-panel');
  $('main').insertBefore(panel, $('#swarm-dialog'));
  show('#f-cancel', false);
  panel.hidden = ui.state !== 'ready';
  setFormMode('start');
}

// The "Shape class" select (--class-picker with shapes offered, Locust's):
// Default runs as configured; a named shape sets the number of users and
// the ramp-up, so their fields hide while it is chosen.
function initShapePicker() {
  const shapes = ui.config.available_shape_classes || [];
  const select = $('#f-shape');
  select.replaceChildren();
  for (const name of shapes) {
    const o = el('option', { text: name });
    o.value = name;
    o.selected = name === (ui.config.shape_class || 'Default');
    select.append(o);
  }
  show('#shape-picker', shapes.length > 0);
  select.addEventListener('change', renderShapeChoice);
  renderShapeChoice();
}

function chosenShape() {
  const select = $('#f-shape');
  return $('#shape-picker').hidden || !select.value || select.value === 'Default' ? '' : select.value;
}

function renderShapeChoice() {
  const shape = chosenShape();
  if (shape) {
    setText('#shape-note', `The load shape "${shape}" drives this run: it sets the number of users and the spawn rate.`);
  } else if (ui.config.default_shape_driven) {
    setText('#shape-note', `A load shape (${ui.config.default_load_model}) drives this run: it sets the number of users and the spawn rate.`);
  }
  const shaped = !!shape || !!ui.config.default_shape_driven;
  show('#shape-note', shaped && ui.formMode === 'start');
  show('#user-fields', !shaped || ui.formMode !== 'start');
}

function renderClassPicker() {
  const classes = ui.config.user_classes || [];
  const list = $('#class-list');
  list.replaceChildren();
  for (const name of classes) {
    const box = el('input');
    box.type = 'checkbox';
    box.name = 'user_classes';
    box.value = name;
    box.checked = true;
    list.append(el('label', { className: 'class-option' }, box, el('span', { text: name })));
  }
  show('#class-picker', classes.length > 1);
}

// Custom parameters (Locust's "Custom parameters"): a drop-down for
// choices, a checkbox for booleans, a masked field for secrets (whose
// value the server never sends: empty keeps it).
function renderCustomParams() {
  const params = ui.config.custom_params || [];
  const list = $('#param-list');
  list.replaceChildren();
  for (const p of params) {
    const id = `p-${p.name}`;
    let input;
    if (p.choices && p.choices.length) {
      input = el('select');
      for (const c of p.choices) {
        const o = el('option', { text: c });
        o.value = c;
        o.selected = c === p.default_value;
        input.append(o);
      }
    } else if (p.kind === 'bool') {
      input = el('input');
      input.type = 'checkbox';
      input.checked = p.default_value === 'true';
    } else {
      input = el('input');
      input.type = p.is_secret ? 'password' : 'text';
      input.autocomplete = p.is_secret ? 'new-password' : 'off';
      input.value = p.default_value || '';
      if (p.is_secret && p.has_value) input.placeholder = 'set (leave empty to keep it)';
      if (p.kind === 'int' || p.kind === 'float') input.inputMode = 'decimal';
    }
    input.id = id;
    input.name = p.name;
    input.dataset.param = p.kind;
    const label = el('label', { text: `${p.label || p.name} (${p.name})` });
    label.htmlFor = id;
    const err = el('small', { className: 'field-error' });
    err.dataset.field = p.name;
    if (p.kind === 'bool') {
      list.append(el('div', { className: 'param-check' }, input, label), err);
    } else {
      list.append(label, input, err);
    }
  }
  show('#custom-params', params.length > 0);
}

async function submitForm(ev) {
  ev.preventDefault();
  clearErrors();
  const form = $('#swarm-form');
  const params = new URLSearchParams();
  params.set('user_count', form.user_count.value.trim());
  params.set('spawn_rate', form.spawn_rate.value.trim());
  if (ui.formMode === 'start') {
    params.set('host', form.host.value.trim());
    params.set('run_time', form.run_time.value.trim());
    const boxes = $$('#class-list input[type=checkbox]');
    if (boxes.length > 1) {
      const picked = boxes.filter((b) => b.checked).map((b) => b.value);
      if (picked.length === 0) {
        showError('user_classes', 'Pick at least one user class.');
        return;
      }
      for (const c of picked) params.append('user_classes', c);
    }
    if (!$('#shape-picker').hidden) params.set('shape_class', $('#f-shape').value);
    for (const input of $$('#param-list [data-param]')) {
      params.set(input.name, input.type === 'checkbox' ? String(input.checked) : input.value.trim());
    }
  }
  $('#f-submit').disabled = true;
  try {
    const { body } = await post('swarm', params);
    if (!body.success) {
      showError(body.field, body.message || 'The request was refused.');
      return;
    }
    if (ui.formMode === 'start') ui.charts.clear();
    closeDialog();
    show('#start-panel', false);
    await pollStats();
  } catch (e) {
    showError('', `Could not reach the server: ${e.message}`);
  } finally {
    $('#f-submit').disabled = false;
  }
}

async function stopTest() {
  $('#btn-stop').disabled = true;
  try {
    const { body } = await post('stop');
    if (!body.success) banner(body.message);
  } catch (e) {
    banner(`Could not reach the server: ${e.message}`);
  } finally {
    $('#btn-stop').disabled = false;
  }
  await pollStats();
}

async function resetStats() {
  try {
    await post('stats/reset');
  } catch (e) {
    banner(`Could not reach the server: ${e.message}`);
  }
  ui.charts.clear();
  await pollStats();
  await pollSlow();
}

function banner(msg) {
  setText('#banner', msg || '');
  show('#banner', !!msg);
}

// ---- statistics table -----------------------------------------------------

const STAT_COLUMNS = [
  ['method', (v) => v],
  ['name', (v) => v],
  ['num_requests', (v) => v],
  ['num_failures', (v) => v],
  ['median_response_time', fmtMs],
  ['response_time_percentile_0.95', fmtMs],
  ['response_time_percentile_0.99', fmtMs],
  ['avg_response_time', fmtMs],
  ['min_response_time', fmtMs],
  ['max_response_time', fmtMs],
  ['avg_content_length', (v) => Math.round(v)],
  ['current_rps', (v) => round(v, 2)],
  ['current_fail_per_sec', (v) => round(v, 2)],
];

function statRow(s, cls) {
  const tr = el('tr', { className: cls || '' });
  for (const [key, fmt] of STAT_COLUMNS) {
    const td = el('td', { text: fmt(s[key]) });
    if (key === 'name') td.className = 'name';
    else if (key !== 'method') td.className = 'num';
    if (key === 'num_failures' && s[key] > 0) td.classList.add('bad');
    td.dataset.key = key;
    tr.append(td);
  }
  decorateExemplars(tr, s);
  return tr;
}

function renderStats(s) {
  const rows = s.stats.slice();
  const total = rows.length && rows[rows.length - 1].name === 'Aggregated' && rows[rows.length - 1].method === ''
    ? rows.pop() : null;
  if (ui.sortKey) {
    const k = ui.sortKey;
    rows.sort((a, b) => (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0) * ui.sortDir);
  }
  const frag = document.createDocumentFragment();
  for (const r of rows) frag.append(statRow(r));
  $('#stats-table tbody').replaceChildren(frag);
  $('#stats-table tfoot').replaceChildren(total ? statRow(total, 'total') : '');
  restoreExemplars($('#stats-table'));
  if (s.truncated && s.num_entries > rows.length) {
    setText('#stats-cap', `Showing the first ${rows.length} of ${s.num_entries} names (the table is capped at ${ui.config.max_rows} rows); download the CSV for all of them.`);
    show('#stats-cap', true);
  } else {
    show('#stats-cap', false);
  }
}

function renderFailures(s) {
  const frag = document.createDocumentFragment();
  for (const e of s.errors) {
    frag.append(el('tr', {},
      el('td', { className: 'num', text: e.occurrences }),
      el('td', { text: e.method }),
      el('td', { className: 'name', text: e.name }),
      el('td', { className: 'message', text: e.error }),
      el('td', { text: fmtTime(e.first_seen) }),
      el('td', { text: fmtTime(e.last_seen) })));
  }
  $('#failures-table tbody').replaceChildren(frag);
  const capped = s.num_errors > s.errors.length;
  setText('#failures-cap', capped ? `Showing ${s.errors.length} of ${s.num_errors} failure groups.` : '');
  show('#failures-cap', capped);
}

function renderWorkers(s) {
  const frag = document.createDocumentFragment();
  for (const w of s.workers || []) {
    frag.append(el('tr', {},
      el('td', { className: 'name', text: w.id }),
      el('td', { text: w.state }),
      el('td', { className: 'num', text: w.user_count }),
      el('td', { className: 'num', text: `${round(w.cpu_usage, 1)}%` }),
      el('td', { className: 'num', text: fmtBytes(w.memory_usage) }),
      el('td', { className: 'num', text: w.generator_lag_p99 ? `${Number(w.generator_lag_p50).toFixed(3)} / ${Number(w.generator_lag_p99).toFixed(3)}` : '-' })));
  }
  $('#workers-table tbody').replaceChildren(frag);
}

// ---- slow-changing views --------------------------------------------------

function renderExceptions(x) {
  const frag = document.createDocumentFragment();
  for (const e of x.exceptions || []) {
    frag.append(el('tr', {},
      el('td', { className: 'num', text: e.count }),
      el('td', { className: 'message', text: e.msg }),
      el('td', {}, el('pre', { className: 'traceback', text: e.traceback })),
      el('td', { text: e.nodes })));
  }
  $('#exceptions-table tbody').replaceChildren(frag);
}

function ratioList(map) {
  const ul = el('ul', { className: 'ratio-list' });
  const entries = Object.entries(map || {}).sort((a, b) => b[1].ratio - a[1].ratio);
  for (const [name, r] of entries) {
    const li = el('li', {}, el('span', { className: 'pct', text: `${round(r.ratio * 100, 1)}%` }), ' ', el('span', { text: name }));
    if (r.tasks && Object.keys(r.tasks).length) li.append(ratioList(r.tasks));
    ul.append(li);
  }
  if (!entries.length) ul.append(el('li', { className: 'empty', text: 'No users are running.' }));
  return ul;
}

function renderRatios(t) {
  $('#ratio-per-class').replaceChildren(ratioList(t.per_class));
  $('#ratio-total').replaceChildren(ratioList(t.total));
}

function renderLogs(l) {
  setText('#logs-master', (l.master || []).join('\n'));
  const box = $('#logs-workers');
  box.replaceChildren();
  for (const id of Object.keys(l.workers || {}).sort()) {
    box.append(el('h2', { text: `Worker ${id}` }), el('pre', { className: 'logs', text: l.workers[id].join('\n') }));
  }
}

function renderAudit(a) {
  setText('#audit-file', a.file ? `Also written to ${a.file}.` : 'Kept in memory only: start with --audit-log FILE to keep it.');
  const frag = document.createDocumentFragment();
  for (const e of (a.events || []).slice().reverse()) {
    const detail = [e.reason || '', e.detail ? JSON.stringify(e.detail) : ''].filter(Boolean).join(' ');
    frag.append(el('tr', {},
      el('td', { text: fmtTime(e.time) }),
      el('td', { text: e.action }),
      el('td', { className: 'name', text: e.account || '' }),
      el('td', { text: e.role || '' }),
      el('td', { text: e.remote || '' }),
      el('td', { text: e.outcome }),
      el('td', { className: 'message', text: detail })));
  }
  $('#audit-table tbody').replaceChildren(frag);
}

// ---- polling ----------------------------------------------------------------

async function pollStats() {
  let s;
  try {
    s = await getJSON('stats/requests');
  } catch (e) {
    banner(`Lost contact with the server (${e.message}); retrying.`);
    return;
  }
  banner('');
  ui.lastStats = s;
  renderMonitor(s);
  applyState(s.state);
  renderStats(s);
  renderFailures(s);
  renderWorkers(s);
  renderWorkerGate(s);
  if (s.state === 'running' || s.state === 'spawning') {
    ui.charts.push({
      time: Date.now() / 1000,
      rps: s.total_rps,
      fail_per_sec: s.total_fail_per_sec,
      p50: s.current_response_time_percentiles['response_time_percentile_0.5'],
      p95: s.current_response_time_percentiles['response_time_percentile_0.95'],
      user_count: s.user_count,
    });
  }
}

async function pollSlow() {
  const jobs = [
    getJSON('exceptions').then(renderExceptions),
    getJSON('tasks').then(renderRatios),
  ];
  if (ui.config.can_admin) jobs.push(getJSON('logs').then(renderLogs), getJSON('audit').then(renderAudit));
  if (ui.config.baseline) jobs.push(getJSON('stats/baseline').then(renderBaseline));
  await Promise.allSettled(jobs);
}

async function loadHistory() {
  try {
    const h = await getJSON('stats/history');
    for (const p of h.history || []) {
      ui.charts.push({
        time: p.time, rps: p.rps, fail_per_sec: p.fail_per_sec,
        p50: p['response_time_percentile_0.5'], p95: p['response_time_percentile_0.95'], user_count: p.user_count,
      }, false);
    }
    ui.charts.redraw();
  } catch (e) {
    // charts start empty
  }
}

// ---- tabs -------------------------------------------------------------------

function selectTab(name, push = true) {
  if (!TABS.includes(name) || (name === 'workers' && !ui.config.is_distributed) ||
    ((name === 'logs' || name === 'audit') && !ui.config.can_admin) || (name === 'baseline' && !ui.config.baseline)) name = 'stats';
  ui.tab = name;
  for (const b of $$('.tabs [data-tab]')) {
    const on = b.dataset.tab === name;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', String(on));
  }
  for (const t of TABS) show(`#tab-${t}`, t === name);
  ui.charts.setVisible(name === 'charts');
  if (push) {
    const u = new URL(window.location.href);
    u.searchParams.set('tab', name);
    window.history.replaceState(null, '', u);
  }
}

function sortBy(key) {
  if (ui.sortKey === key) ui.sortDir = -ui.sortDir;
  else { ui.sortKey = key; ui.sortDir = key === 'name' || key === 'method' ? 1 : -1; }
  for (const th of $$('#stats-table th')) {
    th.classList.toggle('sorted-asc', th.dataset.key === ui.sortKey && ui.sortDir === 1);
    th.classList.toggle('sorted-desc', th.dataset.key === ui.sortKey && ui.sortDir === -1);
  }
  if (ui.lastStats) renderStats(ui.lastStats);
}

// ---- start --------------------------------------------------------------------

async function main() {
  ui.charts = new Charts($('#chart-rps'), $('#chart-rt'), $('#chart-users'));
  $('#swarm-form').addEventListener('submit', submitForm);
  $('#f-cancel').addEventListener('click', closeDialog);
  $('#swarm-dialog').addEventListener('close', onDialogClose);
  $('#btn-new').addEventListener('click', () => openDialog('start'));
  $('#btn-edit').addEventListener('click', () => openDialog('edit'));
  $('#btn-stop').addEventListener('click', stopTest);
  $('#btn-reset').addEventListener('click', resetStats);
  for (const b of $$('.tabs [data-tab]')) b.addEventListener('click', () => selectTab(b.dataset.tab));
  for (const th of $$('#stats-table th')) th.addEventListener('click', () => sortBy(th.dataset.key));

  try {
    ui.config = await getJSON('ui/config');
  } catch (e) {
    banner(`Could not load the configuration: ${e.message}`);
  }
  // -u, -r, -t and -H prefill the form, as in Locust.
  if (ui.config.host) $('#f-host').value = ui.config.host;
  if (ui.config.users !== undefined) $('#f-users').value = String(ui.config.users);
  if (ui.config.spawn_rate !== undefined) $('#f-rate').value = String(ui.config.spawn_rate);
  if (ui.config.run_time) $('#f-runtime').value = ui.config.run_time;
  renderClassPicker();
  await initClassPicker(ui.config);
  renderCustomParams();
  show('#tab-btn-workers', ui.config.is_distributed);
  show('#tab-btn-logs', ui.config.can_admin);
  show('#tab-btn-audit', ui.config.can_admin);
  show('#tab-btn-baseline', !!ui.config.baseline);
  show('#account', ui.config.auth);
  setText('#account-name', ui.config.auth ? `${ui.config.account} (${ui.config.role})` : '');
  show('#dl-full-history', ui.config.full_history);
  show('#dl-report', ui.config.report);
  initShapePicker();
  setText('#version', ui.config.version ? `golocust ${ui.config.version}` : 'golocust');

  selectTab(new URLSearchParams(window.location.search).get('tab') || 'stats', false);
  await loadHistory();
  await pollStats();
  await pollSlow();
  setInterval(pollStats, STATS_INTERVAL);
  setInterval(pollSlow, SLOW_INTERVAL);
}

main();
