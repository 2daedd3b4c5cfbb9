// Small pure formatters: times, durations, digests, sizes, image tags and policies.

/** @typedef {import('./types.js').Policy} Policy */
/** @typedef {import('./types.js').PolicySource} PolicySource */

/** @param {number|null|undefined} ms */
export function when(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** @param {number|null|undefined} ms */
export function ago(ms) {
  if (!ms) return '—';
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** @param {number|null|undefined} from @param {number|null|undefined} to */
export function duration(from, to) {
  if (!from) return '—';
  const ms = (to || Date.now()) - from;
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** `sha256:1234567890ab` (12 hex digits). @param {string|null|undefined} d */
export function shortDigest(d) {
  if (!d) return '—';
  const [algo, hex] = d.includes(':') ? d.split(':', 2) : ['', d];
  return (algo ? algo + ':' : '') + hex.slice(0, 12);
}

/** @param {number} n */
export function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Whether a task waits for an approval or its time (no worker yet). @param {string} status */
export function isWaiting(status) {
  return status === 'awaiting_approval' || status === 'scheduled';
}

/** Whether a task has ended: not pending, running or waiting. @param {string} status */
export function isTerminal(status) {
  return status !== 'pending' && status !== 'running' && !isWaiting(status);
}

/** A span of seconds as systemd spells it: `2h`, `1h30min`, `45s`. @param {number} secs */
export function span(secs) {
  if (!secs) return '0';
  /** @type {[number, string][]} */
  const units = [[86400, 'd'], [3600, 'h'], [60, 'min'], [1, 's']];
  let left = secs;
  let out = '';
  for (const [n, u] of units) {
    if (left >= n) {
      out += `${Math.floor(left / n)}${u}`;
      left %= n;
    }
  }
  return out;
}

/** `[repository, tag]` of an image reference (tag null when it has none, or only a digest). @param {string} ref */
function splitTag(ref) {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const colon = name.lastIndexOf(':');
  if (colon > name.lastIndexOf('/')) return [name.slice(0, colon), name.slice(colon + 1)];
  return [name, null];
}

/**
 * A move from one tag to another, as `1.4.2 → 1.5.0` (whole references when the
 * repository changes); null when `to` is absent or names the same tag, so that the
 * caller shows the digests instead.
 * @param {string|null|undefined} from @param {string|null|undefined} to
 */
export function tagChange(from, to) {
  if (!from || !to || from === to) return null;
  const [fromRepo, fromTag] = splitTag(from);
  const [toRepo, toTag] = splitTag(to);
  if (fromRepo !== toRepo) return `${from} → ${to}`;
  if (!toTag || fromTag === toTag) return null;
  return `${fromTag || 'latest'} → ${toTag}`;
}

/**
 * The parts of a policy's one line: `approve`, `min-age 2h`, `window Mon..Fri 02:00-04:00`
 * (without its time zone), `timer off`, `follow semver:minor`; only `auto` for the default.
 * @param {Policy} p
 */
export function policyParts(p) {
  /** @type {string[]} */
  const parts = [p.policy];
  if (p.min_age_secs) parts.push(`min-age ${span(p.min_age_secs)}`);
  if (p.window) parts.push(`window ${p.window.replace(/\s*TZ=\S+/, '')}`);
  if (!p.timer) parts.push('timer off');
  if (p.follow && p.follow !== 'digest') parts.push(`follow ${p.follow}`);
  return parts;
}

/** A policy in one line: `approve · min-age 2h · … · follow semver:minor`. @param {Policy} p */
export function policyLine(p) {
  return policyParts(p).join(' · ');
}

/** Where a policy key came from: `file:line`, or `default`. @param {PolicySource|undefined} s */
export function policySource(s) {
  if (!s) return 'default';
  if (typeof s === 'string') return s;
  return s.line ? `${s.file}:${s.line}` : s.file;
}

/** A readable label for a snake_case or kebab-case code. @param {string} code */
export function label(code) {
  return code.replace(/[_-]/g, ' ');
}

/** Task kinds whose code says too little on its own. @type {Object<string, string>} */
const KIND_LABELS = { check: 'update check' };

/** A task kind in words: `update check` for `check`. @param {string} kind */
export function kindLabel(kind) {
  return KIND_LABELS[kind] || label(kind);
}

/**
 * Where a notification stands, in words: delivered, waiting (with when it is tried
 * next), given up.
 * @param {{status: string, attempts: number, next_ms: number}} d
 */
export function notifyStatus(d) {
  if (d.status !== 'pending') return label(d.status);
  return d.attempts ? `waiting (next retry at ${when(d.next_ms)})` : `waiting (first attempt at ${when(d.next_ms)})`;
}
