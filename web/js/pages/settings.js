// Settings: the effective configuration (secrets only as set or unset), the services
// from PODUP_SERVICES beside the discovered ones, with their counts, and the
// notification sinks (their URLs with secrets masked, their filters, how each has
// fared, a test notification per sink) with the newest notifications.

import { api, ApiError } from '../api.js';
import { h, clear, badge, empty, facts, failure, heading, loading, table, toast } from '../dom.js';
import { ago, when, label, notifyStatus, isTerminal } from '../format.js';

/** @typedef {import('../types.js').Settings} Settings */
/** @typedef {import('../types.js').NotifyInfo} NotifyInfo */
/** @typedef {import('../types.js').NotifySink} NotifySink */
/** @typedef {import('../types.js').NotifyDelivery} NotifyDelivery */
/** @typedef {import('../types.js').Accepted} Accepted */
/** @typedef {import('../types.js').TaskDetail} TaskDetail */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Settings';

/** How often the sinks are read again while a test notification runs. */
const FOLLOW_MS = 1500;

/** @param {HTMLElement} main @param {PageContext} ctx */
export function render(main, ctx) {
  const top = h('div', {}, loading());
  const config = h('div');
  main.append(heading('Settings'), top, notifications(ctx), config);
  const load = async () => {
    /** @type {Settings} */
    let s;
    try {
      s = await api('GET', '/api/v1/settings');
    } catch (e) {
      clear(top);
      top.append(failure(`The settings could not be loaded: ${e.message}`, load));
      return;
    }
    clear(top);
    clear(config);
    if (s.unknown_variables.length) {
      top.append(h('p', { class: 'notice', text: `Ignored, unknown variables (typos?): ${s.unknown_variables.join(', ')}` }));
    }
    const svc = (/** @type {{unit: string, image: string|null}[]} */ list, /** @type {string} */ none) => list.length
      ? table(['Unit', 'Image'], list.map((x) => h('tr', {}, h('td', { text: x.unit }), h('td', {}, h('code', { text: x.image || 'found at run time' })))))
      : empty(none);
    top.append(
      h('div', { class: 'columns' },
        h('section', {}, h('h2', { text: `Declared (${s.counts.declared})` }), h('p', { class: 'muted small', text: 'from PODUP_SERVICES' }), svc(s.services.declared, 'None declared.')),
        h('section', {}, h('h2', { text: `Discovered (${s.counts.discovered})` }), h('p', { class: 'muted small', text: 'units found on the host' }), svc(s.services.discovered, 'None discovered.'))));
    config.append(
      h('h2', { text: 'Configuration' }),
      h('p', { class: 'muted small', text: 'As podup read it at start; change it in the environment file (env/podup.env.example lists every variable) and restart podup.' }),
      table(['Variable', 'Value', 'Default', 'What it does'], s.variables.map((v) => h('tr', {},
        h('td', {}, h('code', { text: v.name })),
        h('td', { class: v.secret ? 'secret' : '' }, v.value === null ? h('span', { class: 'muted', text: 'see the environment' }) : h('code', { text: v.value })),
        h('td', { class: 'small', text: v.default }),
        h('td', { class: 'small', text: v.description }))), 'settings'));
  };
  load();
}

/**
 * The Notifications section: one card per sink and the newest notifications. It
 * loads on its own, so the rest of the page shows whatever it answers.
 * @param {PageContext} ctx
 */
function notifications(ctx) {
  const admin = ctx.session.role === 'admin';
  const box = h('div', { 'aria-live': 'polite' }, loading('Loading the notification sinks…'));
  const section = h('section', { id: 'notifications' }, h('h2', { text: 'Notifications' }), box);
  /** @type {ReturnType<typeof setTimeout>|null} */
  let timer = null;
  let left = false;
  ctx.onLeave(() => {
    left = true;
    if (timer) clearTimeout(timer);
  });

  const load = async () => {
    /** @type {NotifyInfo} */
    let n;
    try {
      n = await api('GET', '/api/v1/notify');
    } catch (e) {
      if (left) return;
      clear(box);
      if (e instanceof ApiError && e.status === 404) {
        box.append(h('p', { class: 'notice', text: 'This podup has no notifications (GET /api/v1/notify is missing).' }));
      } else {
        box.append(failure(`The notification sinks could not be loaded: ${e.message}`, load));
      }
      return;
    }
    if (left) return;
    clear(box);
    if (!n.sinks.length) {
      box.append(
        empty('No notification sink is configured: podup tells no one when a deploy fails.'),
        h('p', { class: 'muted small' },
          'Put one sink URL per line (ntfy, Gotify, Matrix, Slack, Discord, a webhook or a program) in a file only podup can read (mode 0600), set ',
          h('code', { text: 'PODUP_NOTIFY_FILE' }), ' to its path and restart podup; ',
          h('code', { text: 'docs/notifications.md' }), ' describes each kind, its ', h('code', { text: 'events=' }), ', ',
          h('code', { text: 'units=' }), ' and ', h('code', { text: 'host=' }), ' filters, and the retries.'));
      return;
    }
    box.append(
      h('p', { class: 'muted small', text: 'From PODUP_NOTIFY_FILE, PODUP_NOTIFY or the credential notify, as podup read them at start; podup never shows their secrets (***).' }),
      ...n.sinks.map((s) => sinkCard(s, testButton(s))),
      h('h3', { text: 'Last notifications' }),
      n.deliveries.length ? deliveries(n.deliveries, n.sinks, ctx) : empty('No notification yet.'));
  };

  /** Reads the sinks again until task `id` has ended (so the card shows how the test went). @param {number} id */
  const follow = async (id, tries = 40) => {
    timer = null;
    if (left) return;
    /** @type {TaskDetail|null} */
    let d = null;
    try {
      d = await api('GET', `/api/v1/tasks/${id}`);
    } catch {
      d = null;
    }
    if (left) return;
    if (d && isTerminal(d.task.status)) load();
    else if (tries > 0) timer = setTimeout(() => follow(id, tries - 1), FOLLOW_MS);
  };

  /** A "Send test notification" button for sink `s`. @param {NotifySink} s */
  const testButton = (s) => {
    const b = h('button', { type: 'button', class: 'secondary', text: 'Send test notification', disabled: !admin,
      title: admin ? null : 'A read-only session cannot send notifications.',
      'data-test-sink': s.key,
      'aria-label': `Send a test notification to sink ${s.number}`, onclick: async () => {
        b.setAttribute('disabled', '');
        try {
          /** @type {Accepted} */
          const r = await api('POST', '/api/v1/notify/test', { sink: s.key });
          toast(`Task #${r.task_id} started: a test notification to sink ${s.number}.`);
          ctx.openTask(r.task_id);
          if (timer) clearTimeout(timer);
          follow(r.task_id);
        } catch (e) {
          toast(`The test notification was refused: ${e.message}`, 'error');
          if (e instanceof ApiError && (e.code === 'unknown_sink' || e.code === 'no_sinks')) load();
        }
        b.removeAttribute('disabled');
      } });
    return b;
  };

  load();
  return section;
}

/** How a sink has fared, as a badge and its words. @param {NotifySink} s */
function sinkState(s) {
  const st = s.state;
  /** @type {(Node|string)[]} */
  const parts = [];
  if (st.last_error) {
    parts.push(badge('failed', 'failing'), ` ${st.last_error}`);
    if (st.last_attempt_ms) parts.push(h('span', { class: 'muted small', text: ` (last tried ${ago(st.last_attempt_ms)}, ${when(st.last_attempt_ms)})` }));
  } else if (st.last_status === 'delivered') {
    parts.push(badge('delivered', 'ok'), h('span', { text: ` last delivered ${ago(st.last_done_ms)}`, title: when(st.last_done_ms) }));
  } else if (st.last_status === 'given_up') {
    parts.push(badge('given_up', 'given up'), ` ${st.given_up} given up`);
  } else {
    parts.push(badge('none', 'no delivery yet'));
  }
  if (st.pending) parts.push(' ', badge('pending', `${st.pending} waiting`));
  return h('span', { class: 'sink-state' }, ...parts);
}

/** One sink: its masked URL, filters, state and test button. @param {NotifySink} s @param {HTMLElement} test */
function sinkCard(s, test) {
  const st = s.state;
  return h('section', { class: 'card sink', 'data-sink': s.key },
    h('h3', {}, `Sink ${s.number} · ${s.kind} `, test),
    facts([
      ['URL', h('code', { class: 'sink-url', text: s.sink })],
      ['State', sinkState(s)],
      ['Events', `${s.events.map(label).join(', ') || 'none'} (and tests)`],
      ['Units', s.units.length ? h('span', {}, ...s.units.flatMap((u, i) => [i ? ', ' : '', h('code', { text: u })])) : 'every unit'],
      ['Host', s.host ? h('span', {}, h('code', { text: s.host }), h('span', { class: 'muted', text: ' instead of this machine\'s name' })) : 'this machine\'s name'],
      ['Counts', `${st.delivered} delivered, ${st.pending} waiting, ${st.given_up} given up`],
    ]));
}

/** Rows shown before "Show all". */
const FIRST_ROWS = 10;

/**
 * The newest notifications, the first few until "Show all"; a sink by its number and
 * kind (its masked URL on hover), or by its URL when it is no longer configured.
 * @param {NotifyDelivery[]} list @param {NotifySink[]} sinks @param {PageContext} ctx
 */
function deliveries(list, sinks, ctx) {
  const byKey = new Map(sinks.map((s) => [s.key, s]));
  const row = (/** @type {NotifyDelivery} */ d) => {
    const s = byKey.get(d.sink);
    return h('tr', {},
      h('td', { text: when(d.created_ms) }),
      h('td', { title: d.sink_name }, s ? `${s.number} · ${s.kind}` : h('code', { class: 'sink-url', text: d.sink_name })),
      h('td', { text: label(d.event) }),
      h('td', {}, badge(d.status, notifyStatus(d))),
      h('td', { text: String(d.attempts) }),
      h('td', { class: 'small', text: d.last_error || '' }),
      h('td', {}, d.task_id ? h('a', { href: `?task=${d.task_id}`, onclick: (/** @type {MouseEvent} */ ev) => { ev.preventDefault(); ctx.openTask(d.task_id); }, text: `#${d.task_id}` }) : ''));
  };
  const box = h('div', {});
  const show = (/** @type {boolean} */ all) => {
    clear(box);
    box.append(table(['Written', 'Sink', 'Event', 'Status', 'Attempts', 'Last error', 'Task'], (all ? list : list.slice(0, FIRST_ROWS)).map(row), 'notifications'));
    if (!all && list.length > FIRST_ROWS) {
      box.append(h('p', {}, h('button', { type: 'button', class: 'link', text: `Show all ${list.length}`, onclick: () => show(true) })));
    }
  };
  show(false);
  return box;
}
