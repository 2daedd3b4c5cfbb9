// Webhooks: what to paste into GitHub (the URL for all services and for each one,
// the content type, the events), whether a secret is set, the last deliveries with
// their verdict, and a signed test delivery through the real webhook path.

import { api } from '../api.js';
import { h, clear, badge, empty, failure, heading, loading, table, toast } from '../dom.js';
import { when, label } from '../format.js';

/** @typedef {import('../types.js').WebhooksInfo} WebhooksInfo */
/** @typedef {import('../types.js').Delivery} Delivery */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Webhooks';

/** A value with a copy button. @param {string} text */
function copyable(text) {
  return h('span', { class: 'copy' }, h('code', { text }),
    h('button', { type: 'button', class: 'link', text: 'copy', 'aria-label': `Copy ${text}`, onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        toast('Copied.', 'info');
      } catch {
        toast('The browser did not allow copying; select the text instead.', 'error');
      }
    } }));
}

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const admin = ctx.session.role === 'admin';
  const test = h('button', { type: 'button', text: 'Send test delivery', disabled: !admin, onclick: async () => {
    test.setAttribute('disabled', '');
    try {
      /** @type {{verdict: string, status: number, reason: string}} */
      const r = await api('POST', '/api/v1/webhooks/test');
      toast(`Test delivery ${r.verdict}: podup answered ${r.status} ${label(r.reason)}.`, r.verdict === 'accepted' ? 'ok' : 'error');
    } catch (e) {
      toast(`The test delivery could not be sent: ${e.message}`, 'error');
    }
    test.removeAttribute('disabled');
    load();
  } });
  const body = h('div', {}, loading());
  main.append(heading('Webhooks', test), body);

  const load = async () => {
    /** @type {WebhooksInfo} */
    let w;
    try {
      w = await api('GET', '/api/v1/webhooks');
    } catch (e) {
      clear(body);
      body.append(failure(`The webhook settings could not be loaded: ${e.message}`, load));
      return;
    }
    clear(body);
    const secret = w.secret === 'set'
      ? h('span', {}, badge('succeeded', 'set'), ` ${w.secret_count} secret(s); podup never shows them`)
      : h('span', {}, badge('failed', 'not set'), ' deliveries are refused. Put the secret in /etc/podup/github-secret and set PODUP_GITHUB_SECRET_FILE.');
    body.append(
      h('section', { class: 'card' },
        h('h2', { text: 'In GitHub: Settings → Webhooks → Add webhook' }),
        h('dl', { class: 'facts' },
          h('dt', { text: 'Payload URL' }), h('dd', {}, copyable(w.url), h('div', { class: 'muted small', text: 'deploys every service whose image matches the package' })),
          h('dt', { text: 'Content type' }), h('dd', {}, h('code', { text: w.content_type })),
          h('dt', { text: 'Secret' }), h('dd', {}, secret),
          h('dt', { text: 'Events' }), h('dd', { text: w.events.join(' or ') }))),
      h('h2', { text: 'One URL per service' }),
      w.services.length
        ? table(['Service', 'Image', 'Payload URL'], w.services.map((s) => h('tr', {},
          h('td', { text: s.unit }), h('td', {}, h('code', { text: s.image || 'unknown' })), h('td', {}, copyable(s.url)))))
        : empty('No service is declared (PODUP_SERVICES).'),
      h('h2', { text: 'Last deliveries' }),
      w.deliveries.length ? deliveries(w.deliveries, ctx) : empty('No delivery yet.'));
  };
  load();
}

/** @param {Delivery[]} list @param {PageContext} ctx */
function deliveries(list, ctx) {
  return table(['Time', 'Verdict', 'Why', 'Event', 'Delivery', 'Image or detail', 'Task'], list.map((d) => h('tr', {},
    h('td', { text: when(d.ts_ms) }),
    h('td', {}, h('span', { class: `badge v-${d.verdict}`, text: d.verdict }), d.test ? h('span', { class: 'muted small', text: ' test' }) : null),
    h('td', { text: `${d.status} ${label(d.reason)}` }),
    h('td', { text: d.event || '—' }),
    h('td', { class: 'small', text: d.delivery || '—' }),
    h('td', { class: 'small', text: d.image || d.detail || '' }),
    h('td', {}, d.task_id ? h('a', { href: `?task=${d.task_id}`, onclick: (/** @type {MouseEvent} */ ev) => { ev.preventDefault(); ctx.openTask(d.task_id); }, text: `#${d.task_id}` }) : ''))));
}
