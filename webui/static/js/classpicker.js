// The class picker (--class-picker, Locust's): each user class in the
// start form gets a summary and an Edit button that opens a dialog for its
// weight, fixed count, host and tasks, saved with POST /user. The edits
// apply from the next start (and reach the workers with it).
import { $, $$, el, show, getJSON } from './dom.js';

let classes = [];

export async function initClassPicker(config) {
  if (!config.class_picker) return;
  try {
    classes = (await getJSON('user-classes')).user_classes || [];
  } catch (e) {
    return;
  }
  show('#class-picker', classes.length > 0);
  decorate();
}

function summary(c) {
  const count = c.fixed_count > 0 ? `fixed ${c.fixed_count}` : `weight ${c.weight}`;
  const host = c.host ? `, ${c.host}` : '';
  return `${count}${host}, ${c.tasks.length}/${c.all_tasks.length} tasks`;
}

function decorate() {
  for (const label of $$('#class-list .class-option')) {
    const name = label.querySelector('input').value;
    const c = classes.find((x) => x.name === name);
    if (!c) continue;
    let sum = label.querySelector('.class-summary');
    if (!sum) {
      sum = el('small', { className: 'hint class-summary' });
      const btn = el('button', { className: 'btn class-edit', text: 'Edit' });
      btn.type = 'button';
      btn.dataset.class = name;
      btn.addEventListener('click', (ev) => { ev.preventDefault(); openEditor(name); });
      label.append(sum, btn);
    }
    sum.textContent = summary(c);
  }
}

function field(id, labelText, value) {
  const input = el('input');
  input.type = 'text';
  input.id = id;
  input.autocomplete = 'off';
  input.value = value;
  const label = el('label', { text: labelText });
  label.htmlFor = id;
  return [label, input];
}

function openEditor(name) {
  const c = classes.find((x) => x.name === name);
  if (!c) return;
  let d = $('#class-dialog');
  if (d) d.remove();
  d = el('dialog', { className: 'swarm-dialog class-dialog' });
  d.id = 'class-dialog';
  const tasks = el('fieldset', { className: 'class-picker' }, el('legend', { text: 'Tasks' }));
  tasks.id = 'cd-tasks';
  for (const t of c.all_tasks) {
    const box = el('input');
    box.type = 'checkbox';
    box.value = t;
    box.checked = c.tasks.includes(t);
    tasks.append(el('label', { className: 'class-option' }, box, el('span', { text: t })));
  }
  const error = el('p', { className: 'field-error form-error' });
  error.id = 'cd-error';
  const save = el('button', { className: 'btn primary', text: 'Save' });
  save.type = 'button';
  save.id = 'cd-save';
  const cancel = el('button', { className: 'btn', text: 'Cancel' });
  cancel.type = 'button';
  cancel.addEventListener('click', () => d.close());
  const body = el('div', { className: 'swarm-form' },
    el('h2', { text: `Edit ${name}` }),
    ...field('cd-weight', 'Weight', String(c.weight)),
    ...field('cd-fixed', 'Fixed count (0: weighted)', String(c.fixed_count)),
    ...field('cd-host', 'Host', c.host),
    tasks, error, el('div', { className: 'form-buttons' }, save, cancel));
  d.append(body);
  save.addEventListener('click', () => saveClass(c, d));
  document.body.append(d);
  d.showModal();
}

function whole(s) {
  s = s.trim();
  return /^\d+$/.test(s) ? Number(s) : NaN;
}

async function saveClass(c, d) {
  const error = $('#cd-error');
  error.textContent = '';
  const weight = whole($('#cd-weight').value);
  const fixed = whole($('#cd-fixed').value);
  if (Number.isNaN(weight) || Number.isNaN(fixed)) {
    error.textContent = 'Weight and fixed count must be whole numbers.';
    return;
  }
  const tasks = $$('#cd-tasks input[type=checkbox]').filter((b) => b.checked).map((b) => b.value);
  const body = { user_class_name: c.name, weight, fixed_count: fixed, host: $('#cd-host').value.trim(), tasks };
  const r = await fetch('user', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-Golocust-UI': '1' },
    body: JSON.stringify(body),
  });
  let ans = {};
  try { ans = await r.json(); } catch (e) { ans = { success: false, message: `HTTP ${r.status}` }; }
  if (!ans.success) {
    error.textContent = ans.field ? `${ans.field}: ${ans.message}` : ans.message;
    return;
  }
  Object.assign(c, ans.user_class);
  decorate();
  d.close();
  d.remove();
}
