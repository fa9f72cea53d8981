import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateDatasetDocument } from './document.js';

const example = {
  name: 'district meters 2025-06',
  description: 'hourly readings',
  columns: {
    meter_id: { type: 'id' },
    district: { type: 'category', values: ['shinan', 'shibei'] },
    m3: { type: 'number', min: 0, max: 50 },
  },
  policy: {
    consumers: ['*'],
    purposes: ['public-service'],
    aggregations: ['count', 'sum', 'mean'],
    rowLevel: false,
    minGroupSize: 5,
    epsilonBudget: 10,
    expiresAt: null,
  },
};

function errorsOf(doc: unknown): [string, string][] {
  const r = validateDatasetDocument(doc);
  assert.equal(r.ok, false);
  return r.ok ? [] : r.errors.map((e) => [e.path, e.code]);
}

function withColumns(columns: unknown): unknown {
  return { ...example, columns };
}

describe('validateDatasetDocument', () => {
  it('accepts the documented example', () => {
    const r = validateDatasetDocument(example);
    assert.equal(r.ok, true);
    if (r.ok) assert.deepEqual(r.dataset, example);
  });

  const cases: [string, unknown, [string, string][]][] = [
    ['not an object', 'dataset', [['', 'INVALID_TYPE']]],
    ['empty name', { ...example, name: '  ' }, [['name', 'TOO_SMALL']]],
    ['unknown top-level key', { ...example, rows: [] }, [['', 'UNRECOGNIZED_KEYS']]],
    ['no columns', withColumns({}), [['columns', 'CUSTOM']]],
    ['min > max', withColumns({ m3: { type: 'number', min: 5, max: 1 } }), [['columns.m3.min', 'MIN_GREATER_THAN_MAX']]],
    ['missing max', withColumns({ m3: { type: 'integer', min: 0 } }), [['columns.m3.max', 'INVALID_TYPE']]],
    ['fractional integer bounds', withColumns({ n: { type: 'integer', min: 0.5, max: 3 } }), [['columns.n.min', 'NOT_AN_INTEGER']]],
    [
      'infinite bound',
      withColumns({ m3: { type: 'number', min: 0, max: Number.POSITIVE_INFINITY } }),
      [['columns.m3.max', 'INVALID_TYPE']],
    ],
    ['empty categories', withColumns({ d: { type: 'category', values: [] } }), [['columns.d.values', 'TOO_SMALL']]],
    [
      'duplicate categories',
      withColumns({ d: { type: 'category', values: ['a', 'b', 'a'] } }),
      [['columns.d.values.2', 'DUPLICATE_VALUE']],
    ],
    ['empty category value', withColumns({ d: { type: 'category', values: [''] } }), [['columns.d.values.0', 'TOO_SMALL']]],
    ['unknown column type', withColumns({ d: { type: 'date' } }), [['columns.d.type', 'INVALID_UNION']]],
    ['extra key on a column', withColumns({ m: { type: 'id', min: 0 } }), [['columns.m', 'UNRECOGNIZED_KEYS']]],
    ['column name with a dot', withColumns({ 'a.b': { type: 'id' } }), [['columns.a.b', 'INVALID_KEY']]],
    ['reserved column name', withColumns({ constructor: { type: 'id' } }), [['columns.constructor', 'INVALID_KEY']]],
    ['bad policy', { ...example, policy: { ...example.policy, aggregations: ['median'] } }, [['policy.aggregations.0', 'INVALID_VALUE']]],
    ['missing policy', { name: 'x', columns: example.columns }, [['policy', 'INVALID_TYPE']]],
  ];
  it('explains a bad column name precisely', () => {
    const r = validateDatasetDocument(withColumns({ 'a b': { type: 'id' } }));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.errors[0]?.message ?? '', /column names are identifiers/);
  });
  for (const [name, doc, expected] of cases) {
    it(`refuses ${name}`, () => assert.deepEqual(errorsOf(doc), expected));
  }
});
