import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioDocumentSchema, scenarioJsonSchema } from './index.js';
import { validExamples } from '../validate/examples.fixture.js';

test('the published JSON Schema is draft 2020-12, closed, with the where expression as a reusable definition', () => {
  assert.equal(scenarioJsonSchema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(scenarioJsonSchema.additionalProperties, false);
  assert.deepEqual(scenarioJsonSchema.required, ['id', 'title', 'inputs', 'metrics']);
  const text = JSON.stringify(scenarioJsonSchema);
  for (const agg of ['count', 'sum', 'histogram', 'sumProduct', 'weightedSum', 'correlation', 'dot', 'ratio', 'difference'])
    assert.ok(text.includes(`"${agg}"`), agg);
  assert.ok(Object.keys(scenarioJsonSchema.$defs as object).length > 0);
});

test('every valid example matches the shape schema; shape errors are caught by it too', () => {
  for (const [name, doc] of Object.entries(validExamples)) assert.ok(scenarioDocumentSchema.safeParse(doc).success, name);
  const bad = structuredClone(validExamples.waterExample) as Record<string, unknown>;
  bad.metricz = [];
  assert.equal(scenarioDocumentSchema.safeParse(bad).success, false);
});
