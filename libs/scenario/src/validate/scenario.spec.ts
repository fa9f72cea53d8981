import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateScenario } from './scenario.js';
import { pointer } from './issues.js';
import { validExamples, waterExample } from './examples.fixture.js';
import { malformedCases as cases } from './malformed.fixture.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests mutate fixtures freely

function refused(doc: unknown): { path: string; code: string; message: string }[] {
  const r = validateScenario(doc);
  assert.equal(r.ok, false, 'expected the document to be refused');
  return r.ok ? [] : r.errors;
}

test('the example of docs/scenario-format.md and every fixture validate', () => {
  for (const [name, doc] of Object.entries(validExamples)) {
    const r = validateScenario(doc);
    assert.ok(r.ok, `${name}: ${JSON.stringify(r.ok ? [] : r.errors)}`);
  }
});

test('a valid result is a copy: later changes to the input do not reach it', () => {
  const doc = structuredClone(waterExample) as Doc;
  const r = validateScenario(doc);
  assert.ok(r.ok);
  doc.metrics[0].name = 'changed';
  assert.equal(r.scenario.metrics[0].name, 'total_m3');
});

test('JSON Pointer paths escape ~ and /', () => {
  assert.equal(pointer(['inputs', 'a/b', 'c~d', 3]), '/inputs/a~1b/c~0d/3');
  assert.equal(pointer([]), '');
});

test(`${cases.length} malformed documents are each refused with the right path and code`, () => {
  assert.ok(cases.length >= 30);
  const names = new Set<string>();
  for (const c of cases) {
    assert.ok(!names.has(c.name), `duplicate case ${c.name}`);
    names.add(c.name);
    const doc = structuredClone(c.base) as Doc;
    const replaced = c.mutate(doc);
    const errors = refused(replaced === undefined ? doc : replaced);
    assert.ok(
      errors.some((e) => e.path === c.path && e.code === c.code),
      `${c.name}: expected ${c.code} at ${JSON.stringify(c.path)}, got ${JSON.stringify(errors)}`,
    );
    for (const e of errors) assert.ok(e.message.length > 0);
  }
});

test('every problem is listed, not only the first', () => {
  const d = structuredClone(waterExample) as Doc;
  d.metrics[0].agg = 'median';
  d.metrics[2].of = 'utility.nope';
  d.inputs.utility.columns.m3.min = 99;
  d.release.minGroupSize = -1;
  d.extra = true;
  const got = refused(d).map((e) => `${e.path} ${e.code}`);
  for (const want of [
    '/metrics/0/agg unknown_agg',
    '/metrics/2/of unknown_column',
    '/inputs/utility/columns/m3/min min_gt_max',
    '/release/minGroupSize bad_value',
    '/extra unknown_field',
  ]) {
    assert.ok(got.includes(want), `missing ${want} in ${JSON.stringify(got)}`);
  }
});

test('a typo gets a suggestion', () => {
  const d = structuredClone(waterExample) as Doc;
  d.metrics[0].agg = 'summ';
  const [e] = refused(d);
  assert.match(e.message, /did you mean "sum"/);
});

test('refs into a malformed column are not reported twice', () => {
  const d = structuredClone(waterExample) as Doc;
  d.inputs.utility.columns.m3 = { type: 'number' };
  const errors = refused(d);
  assert.deepEqual(
    errors.map((e) => e.path),
    ['/inputs/utility/columns/m3', '/inputs/utility/columns/m3'],
  );
});

test('prototype-looking names are refused and cannot pollute', () => {
  const d = JSON.parse(
    '{"id":"x","title":"t","inputs":{"__proto__":{"columns":{"a":{"type":"id"}}}},"metrics":[{"name":"constructor","agg":"count","role":"__proto__"}]}',
  );
  const errors = refused(d);
  assert.ok(errors.some((e) => e.path === '/inputs/__proto__' && e.code === 'bad_name'));
  assert.ok(errors.some((e) => e.path === '/metrics/0/name' && e.code === 'bad_name'));
  assert.equal(({} as Record<string, unknown>).columns, undefined);
});

test('non-JSON input (cycles, throwing getters) is refused, not thrown', () => {
  const cyclic: Doc = structuredClone(waterExample);
  cyclic.release.self = cyclic;
  assert.equal(validateScenario(cyclic).ok, false);
  const trap = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('boom');
      },
    },
  );
  const r = validateScenario(trap);
  assert.equal(r.ok, false);
  assert.equal(r.ok ? '' : r.errors[0].code, 'internal');
  assert.equal(validateScenario({ ...structuredClone(waterExample), title: Number.NaN }).ok, false);
});
