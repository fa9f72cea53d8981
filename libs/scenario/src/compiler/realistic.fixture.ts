/**
 * Test scenarios for the magnitude analysis (README, "Magnitudes and gains"): every agg over columns
 * with wide bounds, so realistic values (~1% of the bound, `scaledRows`) are far below them and
 * worst-case rows (all at the bound, one group) fill the headroom the gains are sized for.
 */
const d = ['d0', 'd1', 'd2', 'd3'];

/** Stacked roles a and b: count, sum, mean, variance, stddev, histogram, sumProduct, difference, ratio, dot, correlation. */
export const stackedWide = {
  id: 'stacked-wide',
  title: 'every stacked agg over wide bounds',
  inputs: {
    a: {
      columns: {
        d: { type: 'category', values: d },
        x: { type: 'number', min: 0, max: 100000 },
        y: { type: 'integer', min: 0, max: 10000 },
        t: { type: 'number', min: -5000, max: 5000 },
      },
    },
    b: { columns: { d: { type: 'category', values: d }, x: { type: 'number', min: 0, max: 100000 } } },
  },
  params: { prices: { type: 'number-list' }, tariff: { type: 'number-list', private: true } },
  metrics: [
    { name: 'n', agg: 'count', role: ['a', 'b'], by: 'a.d' },
    { name: 'sa', agg: 'sum', of: 'a.x', by: 'a.d' },
    { name: 'sb', agg: 'sum', of: 'b.x', by: 'b.d' },
    { name: 'sab', agg: 'sum', of: ['a.x', 'b.x'] },
    { name: 'st', agg: 'sum', of: 'a.t', by: 'a.d' },
    { name: 'ma', agg: 'mean', of: 'a.x', by: 'a.d' },
    { name: 'mab', agg: 'mean', of: ['a.x', 'b.x'], by: 'a.d' },
    { name: 'va', agg: 'variance', of: 'a.x', by: 'a.d' },
    { name: 'sdab', agg: 'stddev', of: ['a.x', 'b.x'] },
    { name: 'h', agg: 'histogram', of: 'a.x', bins: [0, 1000, 2000, 100000], by: 'a.d' },
    { name: 'sp', agg: 'sumProduct', of: ['a.x', 'a.y'], by: 'a.d' },
    { name: 'diff', agg: 'difference', of: ['sa', 'sb'] },
    { name: 'dm', agg: 'difference', of: ['ma', 'sa'] },
    { name: 'share', agg: 'ratio', of: ['sa', 'sb'] },
    { name: 'value', agg: 'dot', of: ['sa', '$params.prices'] },
    { name: 'billed', agg: 'dot', of: ['sb', '$params.tariff'] },
    { name: 'cross', agg: 'dot', of: ['sa', 'sb'] },
    { name: 'corr', agg: 'correlation', of: ['sa', 'sb'] },
  ],
};

/** Roles a and c aligned on consumer keys: cross-role count, sum, mean, sumProduct; weightedSum public and private. */
export const alignedWide = {
  id: 'aligned-wide',
  title: 'cross-role and row-level aggs over wide bounds',
  inputs: {
    a: { columns: { id: { type: 'id' }, d: { type: 'category', values: d }, x: { type: 'number', min: 0, max: 100000 } } },
    c: { columns: { id: { type: 'id' }, f: { type: 'category', values: ['y', 'n'] }, z: { type: 'number', min: -1000000, max: 1000000 } } },
  },
  params: { keys: { type: 'id-list' }, w: { type: 'number-list', private: true }, b: { type: 'number', private: true } },
  align: { on: { a: 'id', c: 'id' }, keys: '$params.keys' },
  metrics: [
    { name: 'cy', agg: 'count', role: 'a', where: { eq: ['c.f', 'y'] }, by: 'a.d' },
    { name: 'zs', agg: 'sum', of: 'c.z', by: 'a.d' },
    { name: 'zm', agg: 'mean', of: 'c.z', where: { eq: ['c.f', 'n'] }, by: 'a.d' },
    { name: 'xz', agg: 'sumProduct', of: ['a.x', 'c.z'], by: 'c.f' },
    { name: 'score', agg: 'weightedSum', of: ['a.x', 'c.z'], weights: '$params.w', bias: '$params.b' },
    { name: 'check', agg: 'weightedSum', of: ['a.x', 'c.z'], weights: [0.5, -0.05], bias: 7 },
  ],
  release: { rowLevel: true },
};
