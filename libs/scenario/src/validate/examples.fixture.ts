/**
 * Valid scenario documents used by the tests of validation and of the reference evaluator:
 * the example of docs/scenario-format.md verbatim, and small documents covering every agg,
 * multi-role metrics, both kinds of align, private parameters and internal metrics.
 */

/** docs/scenario-format.md's example, verbatim. */
export const waterExample = {
  id: 'water-district-consumption',
  title: 'District water consumption from smart meters',
  sector: 'water',
  description: "Per-district totals and means of daily consumption; no meter's reading is revealed.",
  inputs: {
    utility: {
      columns: {
        meter_id: { type: 'id' },
        district: { type: 'category', values: ['shinan', 'shibei', 'licang', 'laoshan'] },
        m3: { type: 'number', min: 0, max: 50 },
        night_flow: { type: 'number', min: 0, max: 2 },
      },
    },
  },
  params: {},
  metrics: [
    { name: 'total_m3', agg: 'sum', of: 'utility.m3', by: 'utility.district' },
    { name: 'meters', agg: 'count', role: 'utility', by: 'utility.district' },
    { name: 'mean_m3', agg: 'mean', of: 'utility.m3', by: 'utility.district' },
    { name: 'leaks', agg: 'count', role: 'utility', where: { gt: ['utility.night_flow', 0.05] }, by: 'utility.district' },
  ],
  release: { minGroupSize: 5 },
};

const hourCols = (extra: Record<string, unknown>) => ({
  columns: { district: { type: 'category', values: ['a', 'b'] }, hour: { type: 'category', values: ['0', '1', '2'] }, ...extra },
});

/** Three operators' kWh combined by district × hour, plus stats of every stacked agg. */
export const evCharging = {
  id: 'ev-charging-demand',
  title: 'EV charging demand',
  inputs: {
    op1: hourCols({ kwh: { type: 'number', min: 0, max: 100 }, pile: { type: 'id' } }),
    op2: hourCols({ kwh: { type: 'number', min: 0, max: 100 } }),
    op3: hourCols({ kwh: { type: 'integer', min: 0, max: 100 }, power: { type: 'integer', min: 0, max: 10 } }),
  },
  params: { minKwh: { type: 'number', default: 0 }, onlyDistrict: { type: 'category', values: ['a', 'b'] } },
  metrics: [
    { name: 'kwh', agg: 'sum', of: ['op1.kwh', 'op2.kwh', 'op3.kwh'], by: ['op1.district', 'op1.hour'] },
    { name: 'sessions', agg: 'count', role: ['op1', 'op2', 'op3'], where: { ge: ['op1.kwh', '$params.minKwh'] }, by: 'op2.district' },
    { name: 'mean_kwh', agg: 'mean', of: ['op1.kwh', 'op2.kwh'], where: { eq: ['op1.district', '$params.onlyDistrict'] } },
    { name: 'var_kwh', agg: 'variance', of: 'op3.kwh', by: 'op3.district' },
    { name: 'sd_kwh', agg: 'stddev', of: ['op2.kwh', 'op3.kwh'], where: { not: { in: ['op2.hour', ['2']] } } },
    { name: 'kwh_hist', agg: 'histogram', of: 'op1.kwh', bins: [0, 10, 50, 100], by: 'op1.district' },
    {
      name: 'energy',
      agg: 'sumProduct',
      of: ['op3.kwh', 'op3.power'],
      where: { or: [{ lt: ['op3.kwh', 50] }, { eq: ['op3.hour', '0'] }] },
    },
  ],
  release: { minGroupSize: 2 },
};

/** Correlation of two internal series across district × hour; ratio and difference of them. */
export const drainage = {
  id: 'drainage-rainfall-response',
  title: 'Rainfall vs drain level',
  inputs: {
    weather: hourCols({ rain_mm: { type: 'number', min: 0, max: 200 } }),
    drains: hourCols({ level: { type: 'number', min: 0, max: 5 } }),
  },
  metrics: [
    { name: 'rain', agg: 'sum', of: 'weather.rain_mm', by: ['weather.district', 'weather.hour'], release: false },
    { name: 'level', agg: 'mean', of: 'drains.level', by: ['drains.district', 'drains.hour'], release: false },
    { name: 'rain_vs_level', agg: 'correlation', of: ['rain', 'level'] },
    { name: 'level_per_mm', agg: 'ratio', of: ['level', 'rain'] },
    { name: 'gap', agg: 'difference', of: ['rain', 'level'] },
  ],
};

/** Total billed value: dot of consumption by hour with a (private) tariff list. */
export const tariff = {
  id: 'household-tariff-audit',
  title: 'Household tariff audit',
  inputs: { grid: { columns: { hour: { type: 'category', values: ['0', '1', '2', '3'] }, kwh: { type: 'number', min: 0, max: 20 } } } },
  params: { tariff: { type: 'number-list', private: true } },
  metrics: [
    { name: 'consumption', agg: 'sum', of: 'grid.kwh', by: 'grid.hour' },
    { name: 'billed', agg: 'dot', of: ['consumption', '$params.tariff'] },
  ],
};

/** A where across roles aligned by private set intersection. */
export const elderly = {
  id: 'chronic-elderly-care-demand',
  title: 'Chronic elderly care demand',
  inputs: {
    registry: {
      columns: {
        resident: { type: 'id' },
        age: { type: 'integer', min: 0, max: 120 },
        community: { type: 'category', values: ['c1', 'c2'] },
      },
    },
    health: {
      columns: {
        resident: { type: 'id' },
        chronic: { type: 'category', values: ['yes', 'no'] },
        visits: { type: 'integer', min: 0, max: 50 },
      },
    },
  },
  align: { on: { registry: 'resident', health: 'resident' } },
  metrics: [
    {
      name: 'elderly_chronic',
      agg: 'count',
      role: 'registry',
      where: { and: [{ ge: ['registry.age', 65] }, { eq: ['health.chronic', 'yes'] }] },
      by: 'registry.community',
    },
    { name: 'visits_by_community', agg: 'sum', of: 'health.visits', by: 'registry.community' },
    { name: 'age_visits', agg: 'sumProduct', of: ['registry.age', 'health.visits'] },
  ],
};

/** Row-level score per firm the consumer lists, with private weights. */
export const creditScore = {
  id: 'sme-credit-score',
  title: 'SME credit score',
  inputs: {
    bank: { columns: { firm: { type: 'id' }, loans: { type: 'number', min: 0, max: 1000 } } },
    tax: {
      columns: { firm: { type: 'id' }, paid: { type: 'number', min: 0, max: 500 }, sector: { type: 'category', values: ['x', 'y'] } },
    },
  },
  params: { firms: { type: 'id-list' }, w: { type: 'number-list', private: true }, b: { type: 'number' } },
  align: { on: { bank: 'firm', tax: 'firm' }, keys: '$params.firms' },
  metrics: [
    { name: 'score', agg: 'weightedSum', of: ['bank.loans', 'tax.paid'], weights: '$params.w', bias: '$params.b' },
    { name: 'loans_by_sector', agg: 'sum', of: 'bank.loans', by: 'tax.sector' },
    { name: 'check', agg: 'weightedSum', of: ['bank.loans', 'tax.paid'], weights: [1, -1] },
  ],
  release: { rowLevel: true },
};

export const validExamples: Record<string, unknown> = { waterExample, evCharging, drainage, tariff, elderly, creditScore };
