// Building the page: elements from data with text always set through textContent
// (never innerHTML), status badges, the loading / empty / error states, toasts and
// the confirmation dialog.

import { label } from './format.js';

/**
 * Creates an element. `props`: attributes (`class`, `href`, `data-*`, `aria-*`, ...),
 * `text` (textContent), and `on*` listeners given as functions. Children are nodes
 * or strings (added as text nodes).
 * @param {string} tag
 * @param {Object<string, any>} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** Removes every child. @param {Element} el */
export function clear(el) {
  el.replaceChildren();
}

/** A status word as a coloured badge (`text` instead of the word). @param {string} status @param {string} [text] */
export function badge(status, text) {
  return h('span', { class: `badge s-${status}`, text: text || label(status) });
}

/** @param {string} text */
export function loading(text = 'Loading…') {
  return h('p', { class: 'state loading', text });
}

/** @param {string} text */
export function empty(text) {
  return h('p', { class: 'state empty', text });
}

/** @param {string} text @param {(() => void)} [retry] */
export function failure(text, retry) {
  return h('div', { class: 'state error', role: 'alert' },
    h('p', { text }),
    retry ? h('button', { type: 'button', class: 'secondary', text: 'Try again', onclick: retry }) : null);
}

/** A table in a horizontally scrolling box (narrow screens). @param {string[]} heads @param {HTMLElement[]} rows */
export function table(heads, rows, cls = '') {
  return h('div', { class: 'table-wrap' },
    h('table', { class: cls },
      h('thead', {}, h('tr', {}, ...heads.map((x) => h('th', { scope: 'col', text: x })))),
      h('tbody', {}, ...rows)));
}

/** A `<dl>` of label/value pairs. @param {[string, Node|string][]} pairs */
export function facts(pairs) {
  const dl = h('dl', { class: 'facts' });
  for (const [k, v] of pairs) dl.append(h('dt', { text: k }), h('dd', {}, v));
  return dl;
}

/**
 * Shows a toast for a few seconds.
 * @param {string} text
 * @param {'ok'|'error'|'info'} [kind]
 */
export function toast(text, kind = 'ok') {
  const box = document.getElementById('toasts');
  const t = h('div', { class: `toast ${kind}`, text });
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 5000);
}

/**
 * Asks for confirmation in a modal dialog; resolves true on OK.
 * @param {string} title @param {string} text @param {string} ok
 * @returns {Promise<boolean>}
 */
export function confirmDialog(title, text, ok) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('confirm'));
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = ok;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
  });
}

/** A page's heading row: a title and optional actions. @param {string} title @param {...(Node|null)} actions */
export function heading(title, ...actions) {
  return h('div', { class: 'page-head' }, h('h1', { text: title }), h('div', { class: 'actions' }, ...actions));
}
