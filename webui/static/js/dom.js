// Small DOM helpers. Text always goes in through textContent or Text
// nodes, never as markup: names come from user code and targets.

export function $(sel) {
  return document.querySelector(sel);
}

export function $$(sel) {
  return Array.from(document.querySelectorAll(sel));
}

// el creates an element; opts: className, text, title. Children may be
// nodes or strings (strings become text nodes).
export function el(tag, opts = {}, ...children) {
  const e = document.createElement(tag);
  if (opts.className) e.className = opts.className;
  if (opts.text !== undefined && opts.text !== null) e.textContent = String(opts.text);
  if (opts.title) e.title = opts.title;
  for (const c of children) e.append(c);
  return e;
}

export function setText(sel, text) {
  const e = typeof sel === 'string' ? $(sel) : sel;
  if (e) e.textContent = String(text);
}

export function show(e, visible) {
  if (typeof e === 'string') e = $(e);
  if (e) e.hidden = !visible;
}

export function round(v, digits = 2) {
  if (typeof v !== 'number' || !isFinite(v)) return 0;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

// fmtMs shows milliseconds: whole numbers from 100 ms, two decimals below.
export function fmtMs(v) {
  if (typeof v !== 'number' || !isFinite(v)) return '0';
  return v >= 100 ? String(Math.round(v)) : String(round(v, 2));
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString();
}

export function fmtBytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '0';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${round(n, 1)} ${units[i]}`;
}

// UI_HEADER marks the page's own requests: a 401 then comes without a
// basic-auth challenge, and the page goes to the login form instead.
const UI_HEADER = 'X-Golocust-UI';

// toLogin leaves for the login page when the session has ended.
function toLogin(r) {
  if (r.status !== 401) return;
  window.location.assign(`login?expired=1&next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
  throw new Error('not logged in');
}

// getJSON fetches a same-origin JSON document.
export async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json', [UI_HEADER]: '1' }, cache: 'no-store' });
  toLogin(r);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

// post sends a form-encoded POST and returns {status, body}.
export async function post(url, params) {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', [UI_HEADER]: '1' },
    body: params ? params.toString() : '',
  });
  toLogin(r);
  const ctype = r.headers.get('Content-Type') || '';
  let body;
  if (ctype.includes('application/json')) body = await r.json();
  else body = { success: r.ok, message: await r.text() };
  return { status: r.status, body };
}
