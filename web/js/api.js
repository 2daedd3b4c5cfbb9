// Talking to podup: JSON in and out, the session's CSRF token on every change, and
// one error type that carries the API's stable code.

/** @typedef {import('./types.js').ApiErrorBody} ApiErrorBody */

let csrf = '';
/** @type {(() => void)|null} */
let onSignedOut = null;

/** Remembers the CSRF token of the session. @param {string} token */
export function setCsrf(token) {
  csrf = token || '';
}

/** Called when an answer says the session is gone. @param {() => void} f */
export function whenSignedOut(f) {
  onSignedOut = f;
}

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * Calls the API; resolves with the parsed body of a 2xx answer.
 * @template T
 * @param {'GET'|'POST'|'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<T>}
 */
export async function api(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'network', `podup did not answer (${e instanceof Error ? e.message : e})`);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = /** @type {ApiErrorBody|null} */ (data);
    const e = new ApiError(res.status, err?.error || 'http_error', err?.message || `HTTP ${res.status}`);
    if (res.status === 401 && path !== '/api/v1/session' && onSignedOut) onSignedOut();
    throw e;
  }
  return /** @type {T} */ (data);
}

/** A query string from the non-empty values. @param {Object<string, string|number|null|undefined>} params */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
