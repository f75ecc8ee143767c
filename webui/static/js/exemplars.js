// The trace ids behind a name's p99 and max (--traceparent): the cells of
// a row with exemplars become buttons; clicking one opens a detail row
// under it that lists the trace ids to open in a tracing tool. The open
// detail survives the table's refreshes.
import { el, fmtMs } from './dom.js';

const P99 = 'response_time_percentile_0.99';
const MAX = 'max_response_time';

// open is the detail shown: the row's key and which cell ('p99' | 'max').
const open = { key: '', which: '' };
// rows maps a row's key to its latest data, for the open detail.
const rows = new Map();

function rowKey(s) {
  return `${s.method}\u0000${s.name}`;
}

// decorate turns the p99 and max cells of tr (a row of s) into buttons
// when s has exemplars. The cells are found by their data-key.
export function decorate(tr, s) {
  if (!s.exemplars || !s.exemplars.length) return;
  const key = rowKey(s);
  rows.set(key, s);
  tr.dataset.exemplars = key;
  for (const [col, which] of [[P99, 'p99'], [MAX, 'max']]) {
    const td = tr.querySelector(`td[data-key="${col}"]`);
    if (!td) continue;
    const b = el('button', {
      className: 'exemplar-link', text: td.textContent,
      title: which === 'p99' ? 'show the trace ids at or above the 99%ile' : 'show the trace id of the slowest request',
    });
    b.type = 'button';
    b.dataset.which = which;
    b.setAttribute('aria-expanded', String(open.key === key && open.which === which));
    b.addEventListener('click', () => toggle(tr, key, which));
    td.replaceChildren(b);
  }
}

function toggle(tr, key, which) {
  const same = open.key === key && open.which === which;
  open.key = same ? '' : key;
  open.which = same ? '' : which;
  const table = tr.closest('table');
  if (table) restore(table);
}

// restore shows the open detail again after the table was redrawn (and
// removes a detail that is no longer open).
export function restore(table) {
  for (const d of table.querySelectorAll('tr.exemplar-detail')) d.remove();
  for (const b of table.querySelectorAll('button.exemplar-link')) {
    const tr = b.closest('tr');
    b.setAttribute('aria-expanded', String(!!tr && tr.dataset.exemplars === open.key && b.dataset.which === open.which));
  }
  if (!open.key) return;
  const tr = Array.from(table.querySelectorAll('tr[data-exemplars]')).find((r) => r.dataset.exemplars === open.key);
  const s = rows.get(open.key);
  if (!tr || !s) return;
  tr.after(detail(s, open.which, tr.children.length));
}

function detail(s, which, span) {
  let list = s.exemplars;
  let head;
  if (which === 'max') {
    list = list.slice(0, 1);
    head = `Slowest traced request of ${s.method} ${s.name} (max ${fmtMs(s[MAX])} ms)`;
  } else {
    const at = list.filter((x) => x.at_p99);
    head = `Traced requests at or above the 99%ile (${fmtMs(s[P99])} ms) of ${s.method} ${s.name}`;
    if (at.length) list = at;
    else head += ': none traced, the slowest traced ones';
  }
  const ul = el('ul', { className: 'exemplar-list' });
  for (const x of list) {
    ul.append(el('li', {}, el('code', { className: 'trace-id', text: x.trace_id, title: `span ${x.span_id}` }),
      ` ${fmtMs(x.response_time)} ms`));
  }
  const close = el('button', { className: 'exemplar-close', text: 'Close' });
  close.type = 'button';
  close.addEventListener('click', () => {
    open.key = '';
    open.which = '';
    const table = close.closest('table');
    if (table) restore(table);
  });
  const td = el('td', {}, el('div', { className: 'exemplar-box' }, el('strong', { text: head }), ul, close));
  td.colSpan = span;
  const tr = el('tr', { className: 'exemplar-detail' }, td);
  tr.dataset.detail = which;
  return tr;
}
