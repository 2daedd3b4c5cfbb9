// The sign-in view: a token form, the forward-auth button when a trusted proxy
// names the user, and, when no token exists at all, how to create one.

import { api } from './api.js';
import { h, clear } from './dom.js';

/** @typedef {import('./types.js').Session} Session */

/**
 * @param {HTMLElement} main
 * @param {Session} s
 * @param {(s: Session) => void} done
 */
export function showSignIn(main, s, done) {
  clear(main);
  document.title = 'Sign in · podup';
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const input = /** @type {HTMLInputElement} */ (h('input', {
    id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'podup_…', required: true,
  }));
  /** @param {unknown} body */
  const submit = async (body) => {
    error.hidden = true;
    try {
      done(await api('POST', '/api/v1/session', body));
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  };
  const form = h('form', { class: 'signin', onsubmit: (/** @type {Event} */ ev) => {
    ev.preventDefault();
    submit({ token: input.value.trim() });
  } },
    h('h1', { text: 'Sign in to podup' }),
    h('label', { for: 'token', text: 'Admin or read token' }),
    input,
    h('button', { type: 'submit', text: 'Sign in' }),
    error);
  const box = h('section', { class: 'signin-box' }, form);
  if (s.forward_auth) {
    box.append(h('p', {}, h('button', { type: 'button', class: 'secondary', text: 'Sign in with your proxy login', onclick: () => submit(undefined) })));
  }
  if (s.tokens_configured === false) {
    box.append(h('div', { class: 'notice' },
      h('p', { text: 'No admin or read token exists yet, so nobody can sign in. Create one on the host:' }),
      h('pre', {}, h('code', { text: 'podup token add NAME --role admin' })),
      h('p', { text: 'It prints the token once; paste it above. A read token can look but not change anything.' })));
  }
  main.append(box);
  input.focus();
}
