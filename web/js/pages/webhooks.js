// Webhooks: what to paste into GitHub (the URL for all services and for each one,
// the content type, the events), whether a secret is set, the last deliveries with
// their verdict, and a signed test delivery through the real webhook path; then the
// same for every other sender (Gitea, Forgejo, Harbor, registry notifications, ACR,
// JFrog, Quay, Docker Hub), in the words of each one's own settings page.

import { api } from '../api.js';
import { h, clear, badge, empty, failure, heading, loading, table, toast } from '../dom.js';
import { when, label } from '../format.js';

/** @typedef {import('../types.js').WebhooksInfo} WebhooksInfo */
/** @typedef {import('../types.js').Delivery} Delivery */
/** @typedef {import('../types.js').SenderInfo} SenderInfo */
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
  /** A "Send test delivery" button for `sender`. @param {string} sender @param {boolean} configured */
  const testButton = (sender, configured) => {
    const b = h('button', { type: 'button', text: 'Send test delivery', disabled: !admin || !configured,
      'aria-label': `Send a test delivery as ${sender}`, onclick: async () => {
        b.setAttribute('disabled', '');
        try {
          /** @type {{verdict: string, status: number, reason: string}} */
          const r = await api('POST', `/api/v1/webhooks/test?sender=${encodeURIComponent(sender)}`);
          toast(`Test delivery ${r.verdict}: podup answered ${r.status} ${label(r.reason)}.`, r.verdict === 'accepted' ? 'ok' : 'error');
        } catch (e) {
          toast(`The test delivery could not be sent: ${e.message}`, 'error');
        }
        b.removeAttribute('disabled');
        load();
      } });
    return b;
  };
  const test = testButton('github', true);
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
      w.deliveries.length ? deliveries(w.deliveries, ctx) : empty('No delivery yet.'),
      h('h2', { text: 'Other senders' }),
      ...(w.senders || []).filter((s) => s.name !== 'github').map((s) => senderCard(s, testButton(s.name, s.configured), ctx)));
  };
  load();
}

/** One sender: configured or not, what to fill in on its settings page, its deliveries.
 * @param {SenderInfo} s @param {HTMLElement} test @param {PageContext} ctx */
function senderCard(s, test, ctx) {
  const state = s.configured
    ? h('span', {}, badge('succeeded', 'configured'), ` ${s.secret_count} secret(s); podup never shows them`)
    : h('span', {}, badge('unknown', 'not configured'), ` deliveries are refused (503). Put a secret in /etc/podup/${s.credential} and set ${s.variable}.`);
  const warning = s.url_secret_only
    ? h('p', { class: 'muted small', text: `${s.title} cannot sign its deliveries: the secret in the URL is the only credential (authenticated by URL secret only).` })
    : null;
  return h('section', { class: 'card', 'data-sender': s.name },
    h('h3', {}, `${s.title} `, test),
    h('p', {}, state),
    warning,
    h('dl', { class: 'facts' }, ...s.setup.flatMap(([field, value]) => [
      h('dt', { text: field }),
      h('dd', {}, value.startsWith('http') ? copyable(value) : h('code', { text: value })),
    ])),
    s.deliveries.length ? deliveries(s.deliveries, ctx) : empty(`No ${s.title} delivery yet.`));
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
