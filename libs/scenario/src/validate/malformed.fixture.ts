/**
 * Malformed scenario documents, each refused with a known code at a known path: the validator's spec,
 * the HTTP and CLI tests (test/docs-http.e2e.ts) share them. `mutate` changes a copy of `base`, or
 * returns a replacement document.
 */
import { pointer } from './issues.js';
import { creditScore, drainage, elderly, evCharging, tariff, waterExample } from './examples.fixture.js';

export type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests mutate fixtures freely

export interface Case {
  name: string;
  base: unknown;
  mutate: (d: Doc) => unknown;
  path: string;
  code: string;
}

const deepNot = (depth: number): unknown => (depth === 0 ? { gt: ['utility.m3', 1] } : { not: deepNot(depth - 1) });

export const malformedCases: Case[] = [
  { name: 'not an object', base: waterExample, mutate: () => [1, 2], path: '', code: 'type' },
  {
    name: 'missing id',
    base: waterExample,
    mutate: (d) => {
      delete d.id;
    },
    path: '',
    code: 'required',
  },
  {
    name: 'id not kebab case',
    base: waterExample,
    mutate: (d) => {
      d.id = 'Water District';
    },
    path: '/id',
    code: 'bad_id',
  },
  {
    name: 'typo in a top-level field',
    base: waterExample,
    mutate: (d) => {
      d.metric = d.metrics;
    },
    path: '/metric',
    code: 'unknown_field',
  },
  {
    name: 'empty title',
    base: waterExample,
    mutate: (d) => {
      d.title = '  ';
    },
    path: '/title',
    code: 'empty',
  },
  {
    name: 'empty inputs',
    base: waterExample,
    mutate: (d) => {
      d.inputs = {};
    },
    path: '/inputs',
    code: 'empty',
  },
  {
    name: 'unknown column type',
    base: waterExample,
    mutate: (d) => {
      d.inputs.utility.columns.m3.type = 'float';
    },
    path: '/inputs/utility/columns/m3/type',
    code: 'enum',
  },
  {
    name: 'number column without max',
    base: waterExample,
    mutate: (d) => {
      delete d.inputs.utility.columns.m3.max;
    },
    path: '/inputs/utility/columns/m3',
    code: 'required',
  },
  {
    name: 'min > max',
    base: waterExample,
    mutate: (d) => {
      d.inputs.utility.columns.m3.min = 60;
    },
    path: '/inputs/utility/columns/m3/min',
    code: 'min_gt_max',
  },
  {
    name: 'integer column with a fractional bound',
    base: evCharging,
    mutate: (d) => {
      d.inputs.op3.columns.power.max = 9.5;
    },
    path: '/inputs/op3/columns/power/max',
    code: 'not_integer',
  },
  {
    name: 'empty category list',
    base: waterExample,
    mutate: (d) => {
      d.inputs.utility.columns.district.values = [];
    },
    path: '/inputs/utility/columns/district/values',
    code: 'empty',
  },
  {
    name: 'duplicate category value',
    base: waterExample,
    mutate: (d) => {
      d.inputs.utility.columns.district.values = ['a', 'a'];
    },
    path: '/inputs/utility/columns/district/values/1',
    code: 'duplicate',
  },
  {
    name: "category value containing '|'",
    base: waterExample,
    mutate: (d) => {
      d.inputs.utility.columns.district.values[0] = 'a|b';
    },
    path: '/inputs/utility/columns/district/values/0',
    code: 'bad_value',
  },
  {
    name: 'extra field on a column',
    base: waterExample,
    mutate: (d) => {
      d.inputs.utility.columns.m3.unit = 'm3';
    },
    path: '/inputs/utility/columns/m3/unit',
    code: 'unknown_field',
  },
  {
    name: 'role name with a slash (pointer escaping)',
    base: waterExample,
    mutate: (d) => {
      d.inputs['a/b'] = d.inputs.utility;
    },
    path: '/inputs/a~1b',
    code: 'bad_name',
  },
  {
    name: 'unknown agg',
    base: waterExample,
    mutate: (d) => {
      d.metrics[0].agg = 'median';
    },
    path: '/metrics/0/agg',
    code: 'unknown_agg',
  },
  {
    name: 'duplicate metric names',
    base: waterExample,
    mutate: (d) => {
      d.metrics[1].name = 'total_m3';
    },
    path: '/metrics/1/name',
    code: 'duplicate',
  },
  {
    name: 'ref to a missing role',
    base: waterExample,
    mutate: (d) => {
      d.metrics[0].of = 'utilty.m3';
    },
    path: '/metrics/0/of',
    code: 'unknown_role',
  },
  {
    name: 'ref to a missing column',
    base: waterExample,
    mutate: (d) => {
      d.metrics[0].of = 'utility.m4';
    },
    path: '/metrics/0/of',
    code: 'unknown_column',
  },
  {
    name: 'malformed ref',
    base: waterExample,
    mutate: (d) => {
      d.metrics[0].of = 'm3';
    },
    path: '/metrics/0/of',
    code: 'bad_ref',
  },
  {
    name: 'sum of a category column',
    base: waterExample,
    mutate: (d) => {
      d.metrics[0].of = 'utility.district';
    },
    path: '/metrics/0/of',
    code: 'type_mismatch',
  },
  {
    name: 'by on a number column',
    base: waterExample,
    mutate: (d) => {
      d.metrics[0].by = 'utility.m3';
    },
    path: '/metrics/0/by',
    code: 'not_category',
  },
  {
    name: 'count without role',
    base: waterExample,
    mutate: (d) => {
      delete d.metrics[1].role;
    },
    path: '/metrics/1',
    code: 'required',
  },
  {
    name: 'of on a count',
    base: waterExample,
    mutate: (d) => {
      d.metrics[1].of = 'utility.m3';
    },
    path: '/metrics/1/of',
    code: 'unknown_field',
  },
  {
    name: 'bins not ascending',
    base: evCharging,
    mutate: (d) => {
      d.metrics[5].bins = [0, 50, 10, 100];
    },
    path: '/metrics/5/bins/2',
    code: 'bins_not_ascending',
  },
  {
    name: 'histogram without bins',
    base: evCharging,
    mutate: (d) => {
      delete d.metrics[5].bins;
    },
    path: '/metrics/5',
    code: 'required',
  },
  {
    name: 'weightedSum without release.rowLevel',
    base: creditScore,
    mutate: (d) => {
      delete d.release;
    },
    path: '/metrics/0',
    code: 'row_level_required',
  },
  {
    name: 'weights of the wrong length',
    base: creditScore,
    mutate: (d) => {
      d.metrics[2].weights = [1, 2, 3];
    },
    path: '/metrics/2/weights',
    code: 'length_mismatch',
  },
  {
    name: 'weights parameter of the wrong type',
    base: creditScore,
    mutate: (d) => {
      d.metrics[0].weights = '$params.b';
    },
    path: '/metrics/0/weights',
    code: 'param_type',
  },
  {
    name: 'weightedSum without align',
    base: creditScore,
    mutate: (d) => {
      delete d.align;
      d.params.firms = undefined;
      delete d.params.firms;
    },
    path: '/metrics/0/of/0',
    code: 'not_aligned',
  },
  {
    name: 'ratio naming an unknown metric',
    base: drainage,
    mutate: (d) => {
      d.metrics[3].of = ['level', 'rainn'];
    },
    path: '/metrics/3/of/1',
    code: 'unknown_metric',
  },
  {
    name: 'ratio of metrics grouped differently',
    base: drainage,
    mutate: (d) => {
      d.metrics[0].by = 'weather.district';
    },
    path: '/metrics/3/of',
    code: 'group_mismatch',
  },
  {
    name: 'correlation of an ungrouped metric',
    base: drainage,
    mutate: (d) => {
      delete d.metrics[0].by;
      delete d.metrics[1].by;
    },
    path: '/metrics/2/of/0',
    code: 'not_grouped',
  },
  {
    name: 'correlation over one group',
    base: drainage,
    mutate: (d) => {
      d.inputs.weather.columns.district.values = ['a'];
      d.inputs.weather.columns.hour.values = ['0'];
      d.inputs.drains = structuredClone(d.inputs.weather);
      d.inputs.drains.columns.level = { type: 'number', min: 0, max: 5 };
      delete d.inputs.drains.columns.rain_mm;
    },
    path: '/metrics/2/of',
    code: 'too_few_groups',
  },
  {
    name: 'derived metric over a histogram',
    base: evCharging,
    mutate: (d) => {
      d.metrics.push({ name: 'r', agg: 'ratio', of: ['kwh_hist', 'kwh'] });
    },
    path: '/metrics/7/of/0',
    code: 'invalid_operand',
  },
  {
    name: 'derived metric referring to itself',
    base: drainage,
    mutate: (d) => {
      d.metrics[4].of = ['gap', 'rain'];
    },
    path: '/metrics/4/of',
    code: 'cycle',
  },
  {
    name: 'a parameter as a ratio operand',
    base: tariff,
    mutate: (d) => {
      d.metrics[1].agg = 'ratio';
    },
    path: '/metrics/1/of/1',
    code: 'unknown_metric',
  },
  {
    name: "dot's parameter of the wrong type",
    base: tariff,
    mutate: (d) => {
      d.params.tariff = { type: 'number' };
    },
    path: '/metrics/1/of/1',
    code: 'param_type',
  },
  {
    name: 'where compares a category with a number',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { eq: ['utility.district', 3] };
    },
    path: '/metrics/3/where/eq/1',
    code: 'type_mismatch',
  },
  {
    name: 'where compares a number with a string',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { gt: ['utility.night_flow', '0.05'] };
    },
    path: '/metrics/3/where/gt/1',
    code: 'type_mismatch',
  },
  {
    name: 'where value not in the category list',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { in: ['utility.district', ['shinan', 'huangdao']] };
    },
    path: '/metrics/3/where/in/1/1',
    code: 'unknown_category_value',
  },
  {
    name: 'ordering a category',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { gt: ['utility.district', 'shinan'] };
    },
    path: '/metrics/3/where/gt',
    code: 'type_mismatch',
  },
  {
    name: 'where on an id column',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { eq: ['utility.meter_id', 'm1'] };
    },
    path: '/metrics/3/where/eq/0',
    code: 'type_mismatch',
  },
  {
    name: 'unknown $params in where',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { gt: ['utility.night_flow', '$params.threshold'] };
    },
    path: '/metrics/3/where/gt/1',
    code: 'unknown_param',
  },
  {
    name: 'private parameter in where',
    base: waterExample,
    mutate: (d) => {
      d.params = { t: { type: 'number', private: true } };
      d.metrics[3].where = { gt: ['utility.night_flow', '$params.t'] };
    },
    path: '/metrics/3/where/gt/1',
    code: 'private_param_use',
  },
  {
    name: 'where node with two operators',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { gt: ['utility.m3', 1], lt: ['utility.m3', 5] };
    },
    path: '/metrics/3/where',
    code: 'bad_where',
  },
  {
    name: 'unknown where operator',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { gte: ['utility.m3', 1] };
    },
    path: '/metrics/3/where/gte',
    code: 'unknown_field',
  },
  {
    name: 'where nested too deep',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = deepNot(40);
    },
    path: pointer(['metrics', 3, 'where', ...new Array<string>(33).fill('not')]),
    code: 'too_deep',
  },
  {
    name: 'empty in list',
    base: waterExample,
    mutate: (d) => {
      d.metrics[3].where = { in: ['utility.district', []] };
    },
    path: '/metrics/3/where/in/1',
    code: 'empty',
  },
  {
    name: 'multi-role of with two refs in one role',
    base: evCharging,
    mutate: (d) => {
      d.metrics[0].of = ['op1.kwh', 'op1.kwh'];
    },
    path: '/metrics/0/of/1',
    code: 'same_role',
  },
  {
    name: 'multi-role by: a role lacks the column',
    base: evCharging,
    mutate: (d) => {
      delete d.inputs.op2.columns.hour;
      d.metrics[4].where = { gt: ['op2.kwh', 1] };
    },
    path: '/metrics/0/by/1',
    code: 'column_mismatch',
  },
  {
    name: 'multi-role by: different category values',
    base: evCharging,
    mutate: (d) => {
      d.inputs.op3.columns.district.values = ['b', 'a'];
    },
    path: '/metrics/0/by/0',
    code: 'column_mismatch',
  },
  {
    name: "where on another role's column without align",
    base: elderly,
    mutate: (d) => {
      delete d.align;
    },
    path: '/metrics/0/where/and/1/eq/0',
    code: 'not_aligned',
  },
  {
    name: 'sumProduct across roles without align',
    base: elderly,
    mutate: (d) => {
      delete d.align;
    },
    path: '/metrics/2/of/0',
    code: 'not_aligned',
  },
  {
    name: 'sumProduct of three refs',
    base: evCharging,
    mutate: (d) => {
      d.metrics[6].of = ['op3.kwh', 'op3.power', 'op3.kwh'];
    },
    path: '/metrics/6/of',
    code: 'arity',
  },
  {
    name: 'align names a missing role',
    base: creditScore,
    mutate: (d) => {
      d.align.on.bank2 = 'firm';
    },
    path: '/align/on/bank2',
    code: 'unknown_role',
  },
  {
    name: 'align names a non-id column',
    base: creditScore,
    mutate: (d) => {
      d.align.on.bank = 'loans';
    },
    path: '/align/on/bank',
    code: 'not_id',
  },
  {
    name: 'align names a missing column',
    base: creditScore,
    mutate: (d) => {
      d.align.on.tax = 'firm_id';
    },
    path: '/align/on/tax',
    code: 'unknown_column',
  },
  {
    name: 'align.keys not an id-list',
    base: creditScore,
    mutate: (d) => {
      d.params.firms = { type: 'number-list' };
    },
    path: '/align/keys',
    code: 'param_type',
  },
  {
    name: 'align by intersection over one role',
    base: elderly,
    mutate: (d) => {
      delete d.align.on.health;
      d.metrics = [d.metrics[0]];
      d.metrics[0].where = { ge: ['registry.age', 65] };
    },
    path: '/align/on',
    code: 'align_too_few',
  },
  {
    name: 'metric over a role outside align',
    base: creditScore,
    mutate: (d) => {
      d.inputs.other = { columns: { v: { type: 'number', min: 0, max: 1 } } };
      d.metrics.push({ name: 'o', agg: 'sum', of: 'other.v' });
    },
    path: '/metrics/3/of',
    code: 'not_aligned',
  },
  {
    name: 'private id-list parameter',
    base: creditScore,
    mutate: (d) => {
      d.params.firms.private = true;
    },
    path: '/params/firms/private',
    code: 'private_param_type',
  },
  {
    name: 'unknown parameter type',
    base: creditScore,
    mutate: (d) => {
      d.params.b.type = 'float';
    },
    path: '/params/b/type',
    code: 'enum',
  },
  {
    name: 'category parameter default outside its values',
    base: evCharging,
    mutate: (d) => {
      d.params.onlyDistrict.default = 'c';
    },
    path: '/params/onlyDistrict/default',
    code: 'unknown_category_value',
  },
  {
    name: 'minGroupSize 0',
    base: waterExample,
    mutate: (d) => {
      d.release.minGroupSize = 0;
    },
    path: '/release/minGroupSize',
    code: 'bad_value',
  },
  {
    name: 'unknown noise mechanism',
    base: waterExample,
    mutate: (d) => {
      d.release.noise = { mechanism: 'gaussian', epsilon: 1 };
    },
    path: '/release/noise/mechanism',
    code: 'enum',
  },
  {
    name: 'non-positive epsilon',
    base: waterExample,
    mutate: (d) => {
      d.release.noise = { mechanism: 'laplace', epsilon: 0 };
    },
    path: '/release/noise/epsilon',
    code: 'bad_value',
  },
  {
    name: 'too many groups',
    base: waterExample,
    mutate: (d) => {
      const many = Array.from({ length: 300 }, (_, i) => `v${i}`);
      Object.assign(d.inputs.utility.columns, { x: { type: 'category', values: many }, y: { type: 'category', values: many } });
      d.metrics[0].by = ['utility.x', 'utility.y'];
    },
    path: '/metrics/0/by',
    code: 'too_many_groups',
  },
  {
    name: 'release flag not a boolean',
    base: waterExample,
    mutate: (d) => {
      d.metrics[0].release = 'no';
    },
    path: '/metrics/0/release',
    code: 'type',
  },
];

/** The document of a case. */
export function malformedDocument(c: Case): unknown {
  const doc = structuredClone(c.base) as Doc;
  const replaced = c.mutate(doc);
  return replaced === undefined ? doc : replaced;
}
