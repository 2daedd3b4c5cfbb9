// Small pure formatters: times, durations, digests, sizes.

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

/** @param {string} status */
export function isTerminal(status) {
  return status !== 'pending' && status !== 'running';
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
