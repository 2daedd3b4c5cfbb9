// Settings: the effective configuration (secrets only as set or unset) and the
// services from PODUP_SERVICES beside the discovered ones, with their counts.

import { api } from '../api.js';
import { h, clear, empty, failure, heading, loading, table } from '../dom.js';

/** @typedef {import('../types.js').Settings} Settings */
/** @typedef {import('../main.js').PageContext} PageContext */

export const title = 'Settings';

/** @param {HTMLElement} main @param {PageContext} _ctx */
export function render(main, _ctx) {
  const body = h('div', {}, loading());
  main.append(heading('Settings'), body);
  const load = async () => {
    /** @type {Settings} */
    let s;
    try {
      s = await api('GET', '/api/v1/settings');
    } catch (e) {
      clear(body);
      body.append(failure(`The settings could not be loaded: ${e.message}`, load));
      return;
    }
    clear(body);
    if (s.unknown_variables.length) {
      body.append(h('p', { class: 'notice', text: `Ignored, unknown variables (typos?): ${s.unknown_variables.join(', ')}` }));
    }
    const svc = (/** @type {{unit: string, image: string|null}[]} */ list, /** @type {string} */ none) => list.length
      ? table(['Unit', 'Image'], list.map((x) => h('tr', {}, h('td', { text: x.unit }), h('td', {}, h('code', { text: x.image || 'found at run time' })))))
      : empty(none);
    body.append(
      h('div', { class: 'columns' },
        h('section', {}, h('h2', { text: `Declared (${s.counts.declared})` }), h('p', { class: 'muted small', text: 'from PODUP_SERVICES' }), svc(s.services.declared, 'None declared.')),
        h('section', {}, h('h2', { text: `Discovered (${s.counts.discovered})` }), h('p', { class: 'muted small', text: 'units found on the host' }), svc(s.services.discovered, 'None discovered.'))),
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
