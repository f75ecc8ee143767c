// The Baseline tab (--baseline): per endpoint and for Aggregated, the
// baseline's and this run's p50/p95/p99, throughput and failure ratio, the
// change, and the verdict. The server sends the console table's cells, so
// the tab and the console read the same; a * marks a change larger than
// run-to-run noise.
import { $, el, setText } from './dom.js';

export function renderBaseline(t) {
  if (!t || !Array.isArray(t.header)) return;
  setText('#baseline-summary', `Compared with ${t.file || 'the baseline'} (${t.settings}): ${t.summary}`);
  $('#baseline-summary').classList.toggle('failed', !!t.regressed);
  $('#baseline-table thead tr').replaceChildren(...t.header.map((h) => el('th', { text: h })));
  const frag = document.createDocumentFragment();
  for (const r of t.rows || []) {
    const tr = el('tr', {}, ...r.cells.map((c) => el('td', { text: c })));
    if (r.regressed) tr.classList.add('regressed');
    if (r.total) tr.classList.add('total');
    frag.append(tr);
  }
  $('#baseline-table tbody').replaceChildren(frag);
}
