// Tiny DOM helpers. Text always goes in as text nodes (never innerHTML), so no event field can inject markup.
const PROPS = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'open']);

/** h('a', { href: '#', class: 'x', on: { click } }, 'text', child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : String(v));
  }
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** "2025-03-01 09:30:12 UTC" from an ISO time; the console shows every time in UTC, as the ledger stores it. */
export function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC');
}

export function shortId(id) {
  const v = String(id ?? '');
  return v.length > 14 ? `${v.slice(0, 8)}…` : v;
}

/** An id shown short, with the full id for pointer and screen-reader users. */
export function idText(id, label) {
  const v = String(id ?? '');
  return h('span', { class: 'id', title: v, 'aria-label': label ? `${label} ${v}` : v, 'data-id': v }, shortId(v));
}

export function fmtNumber(n, digits = 3) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return String(n ?? '');
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** A verified / failed / pending badge: icon and words, never color alone. */
export function badge(state, text) {
  const icon = state === 'ok' ? '✓' : state === 'fail' ? '✗' : state === 'warn' ? '!' : '…';
  return h('span', { class: `badge badge-${state}` }, h('span', { 'aria-hidden': 'true' }, icon + ' '), text);
}
