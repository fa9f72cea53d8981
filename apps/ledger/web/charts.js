// Inline SVG charts drawn by hand: no library, no external request. Each chart is a <figure> with a
// caption, an aria-label summary, and the same numbers as a table for screen readers and exact reading.
import { fmtNumber, h, s } from './dom.js';

/** Okabe–Ito colors (distinguishable with color-vision deficiencies), each paired with a dash pattern. */
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#8a6500', '#3a7ca5', '#444444'];
const DASHES = ['', '6 3', '2 3', '8 3 2 3', '1 2', '10 4', '4 4'];

/** Round axis maximum and tick step (1, 2 or 5 times a power of ten). */
export function niceScale(max, ticks = 4) {
  if (!(max > 0)) return { max: 1, step: 0.25 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw);
  return { max: Math.ceil(max / step - 1e-9) * step, step };
}

function dataTable(caption, head, rows) {
  return h(
    'details',
    { class: 'chart-data' },
    h('summary', {}, 'Show the numbers as a table'),
    h(
      'table',
      {},
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          head.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', { class: 'num' }, c))),
          ),
        ),
      ),
    ),
  );
}

function empty(title, message) {
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), h('p', { class: 'muted' }, message));
}

/**
 * Lines over time buckets. series: [{ name, values: number[] }] aligned with buckets: [{ label }].
 */
export function lineChart({ title, description, buckets, series, yLabel, emptyText = 'No events match the filters.' }) {
  if (!buckets.length || !series.length) return empty(title, emptyText);
  const W = 720,
    H = 280,
    L = 48,
    R = 16,
    T = 12,
    B = 44;
  const max = Math.max(1, ...series.flatMap((x) => x.values));
  const { max: yMax, step } = niceScale(max);
  const x = (i) => L + (buckets.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (buckets.length - 1));
  const y = (v) => T + (H - T - B) * (1 - v / yMax);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': `${title}. ${description}` });
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    svg.append(
      s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }),
      s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, fmtNumber(v)),
    );
  }
  const every = Math.max(1, Math.ceil(buckets.length / 7));
  buckets.forEach((b, i) => {
    if (i % every === 0 || i === buckets.length - 1)
      svg.append(s('text', { x: x(i), y: H - B + 18, 'text-anchor': 'middle', class: 'tick' }, b.label));
  });
  svg.append(s('line', { x1: L, x2: W - R, y1: y(0), y2: y(0), class: 'axis' }));
  if (yLabel)
    svg.append(
      s(
        'text',
        { x: 12, y: T + (H - T - B) / 2, transform: `rotate(-90 12 ${T + (H - T - B) / 2})`, 'text-anchor': 'middle', class: 'tick' },
        yLabel,
      ),
    );
  series.forEach((ser, k) => {
    const color = COLORS[k % COLORS.length];
    const pts = ser.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(
      s('polyline', {
        points: pts,
        fill: 'none',
        stroke: color,
        'stroke-width': 2.5,
        'stroke-dasharray': DASHES[k % DASHES.length] || null,
      }),
    );
    ser.values.forEach((v, i) =>
      svg.append(
        s('circle', { cx: x(i), cy: y(v), r: 3.5, fill: color }, s('title', {}, `${ser.name}, ${buckets[i].label}: ${fmtNumber(v)}`)),
      ),
    );
  });
  // Each legend swatch repeats its line's color and dash pattern.
  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((ser, k) =>
      h(
        'li',
        {},
        s(
          'svg',
          { 'aria-hidden': 'true', width: 28, height: 10, viewBox: '0 0 28 10' },
          s('line', {
            x1: 0,
            x2: 28,
            y1: 5,
            y2: 5,
            stroke: COLORS[k % COLORS.length],
            'stroke-width': 3,
            'stroke-dasharray': DASHES[k % DASHES.length] || null,
          }),
        ),
        ' ',
        ser.name,
      ),
    ),
  );
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, title, h('span', { class: 'muted' }, ` — ${description}`)),
    svg,
    legend,
    dataTable(
      title,
      ['Period', ...series.map((x) => x.name)],
      buckets.map((b, i) => [b.label, ...series.map((x) => fmtNumber(x.values[i]))]),
    ),
  );
}

/**
 * Horizontal bars. items: [{ label, value, limit? }]; a limit (e.g. a privacy budget) is drawn as a mark.
 */
export function barChart({
  title,
  description,
  items,
  valueLabel = 'value',
  limitLabel = 'limit',
  emptyText = 'No events match the filters.',
}) {
  if (!items.length) return empty(title, emptyText);
  const W = 720,
    rowH = 30,
    L = 260,
    R = 70,
    T = 8;
  const H = T + items.length * rowH + 24;
  const max = Math.max(1e-9, ...items.map((i) => Math.max(i.value, i.limit ?? 0)));
  const { max: xMax, step } = niceScale(max);
  const x = (v) => L + ((W - L - R) * v) / xMax;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': `${title}. ${description}` });
  for (let v = 0; v <= xMax + 1e-9; v += step) {
    svg.append(
      s('line', { x1: x(v), x2: x(v), y1: T, y2: H - 20, class: 'grid' }),
      s('text', { x: x(v), y: H - 6, 'text-anchor': 'middle', class: 'tick' }, fmtNumber(v)),
    );
  }
  items.forEach((it, i) => {
    const yTop = T + i * rowH + 5;
    const label = it.label.length > 38 ? `${it.label.slice(0, 37)}…` : it.label;
    svg.append(s('text', { x: L - 8, y: yTop + 15, 'text-anchor': 'end', class: 'label' }, label, s('title', {}, it.title ?? it.label)));
    const over = it.limit !== undefined && it.limit !== null && it.value > it.limit;
    svg.append(
      s(
        'rect',
        { x: L, y: yTop, width: Math.max(1, x(it.value) - L), height: rowH - 10, class: over ? 'bar bar-over' : 'bar' },
        s(
          'title',
          {},
          `${it.label}: ${fmtNumber(it.value)}${it.limit !== undefined && it.limit !== null ? ` of ${fmtNumber(it.limit)}` : ''}`,
        ),
      ),
    );
    svg.append(s('text', { x: x(it.value) + 6, y: yTop + 15, class: 'value' }, fmtNumber(it.value)));
    if (it.limit !== undefined && it.limit !== null) {
      svg.append(
        s(
          'line',
          { x1: x(it.limit), x2: x(it.limit), y1: yTop - 3, y2: yTop + rowH - 7, class: 'limit' },
          s('title', {}, `${limitLabel} ${fmtNumber(it.limit)}`),
        ),
      );
    }
  });
  const hasLimit = items.some((i) => i.limit !== undefined && i.limit !== null);
  const head = ['', valueLabel, ...(hasLimit ? [limitLabel] : [])];
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, title, h('span', { class: 'muted' }, ` — ${description}`)),
    svg,
    hasLimit
      ? h('p', { class: 'legend-note' }, h('span', { class: 'limit-swatch', 'aria-hidden': 'true' }), ` vertical mark: ${limitLabel}`)
      : null,
    dataTable(
      title,
      head,
      items.map((i) => [
        i.title ?? i.label,
        fmtNumber(i.value),
        ...(hasLimit ? [i.limit === undefined || i.limit === null ? '—' : fmtNumber(i.limit)] : []),
      ]),
    ),
  );
}

/** Time buckets (UTC hours or days, whichever gives a readable number of points) for a set of ISO times. */
export function timeBuckets(times) {
  const ms = times.map((t) => Date.parse(t)).filter(Number.isFinite);
  if (!ms.length) return { buckets: [], bucketOf: () => -1 };
  const lo = Math.min(...ms),
    hi = Math.max(...ms);
  const HOUR = 3_600_000,
    DAY = 24 * HOUR;
  const unit = hi - lo <= 2 * DAY ? HOUR : DAY;
  const start = Math.floor(lo / unit) * unit;
  const n = Math.floor((hi - start) / unit) + 1;
  const label = (t) => {
    const iso = new Date(t).toISOString();
    return unit === HOUR ? `${iso.slice(5, 10)} ${iso.slice(11, 13)}:00` : iso.slice(0, 10);
  };
  const buckets = Array.from({ length: Math.min(n, 400) }, (_, i) => ({ start: start + i * unit, label: label(start + i * unit) }));
  return {
    buckets,
    unit: unit === HOUR ? 'hour' : 'day',
    bucketOf: (iso) => Math.min(buckets.length - 1, Math.floor((Date.parse(iso) - start) / unit)),
  };
}
