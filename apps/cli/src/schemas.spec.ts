/**
 * The committed JSON Schemas (`schemas/`) are those the zod schemas generate today (run `npm run schemas`
 * after changing a document's schema), and the documented examples match them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { datasetDocumentSchema } from '#dataset';
import { builtinScenarios, scenarioDocumentSchema } from '#scenario';
import { jsonSchemas, schemaText } from './schemas.js';

const ROOT = new URL('../../../../', import.meta.url);

describe('schemas/', () => {
  const schemas = jsonSchemas();

  it('holds exactly the generated files', () => {
    assert.deepEqual(readdirSync(new URL('schemas/', ROOT)).sort(), Object.keys(schemas).sort());
  });

  for (const [name, schema] of Object.entries(schemas)) {
    it(`${name} is up to date with its zod schema (npm run schemas rewrites it)`, () => {
      assert.equal(
        readFileSync(new URL(`schemas/${name}`, ROOT), 'utf8'),
        schemaText(schema),
        `schemas/${name} is stale: run npm run schemas`,
      );
      assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
      assert.equal(schema.additionalProperties, false);
    });
  }

  it('the schemas name the document fields, and accept a "$schema" field', () => {
    const scenario = schemas['scenario.schema.json']!;
    const dataset = schemas['dataset.schema.json']!;
    assert.deepEqual(scenario.required, ['id', 'title', 'inputs', 'metrics']);
    assert.deepEqual(dataset.required, ['name', 'columns', 'policy']);
    assert.ok('$schema' in (scenario.properties as object) && '$schema' in (dataset.properties as object));
  });

  it('the catalog scenarios and a dataset document with "$schema" match the shape schemas', () => {
    for (const s of builtinScenarios())
      assert.ok(scenarioDocumentSchema.safeParse({ $schema: '../../schemas/scenario.schema.json', ...s }).success, s.id);
    const doc = {
      $schema: 'schemas/dataset.schema.json',
      name: 'n',
      columns: { x: { type: 'number', min: 0, max: 1 } },
      policy: {
        consumers: ['*'],
        purposes: ['p'],
        aggregations: ['sum'],
        rowLevel: false,
        minGroupSize: 1,
        epsilonBudget: null,
        expiresAt: null,
      },
    };
    assert.ok(datasetDocumentSchema.safeParse(doc).success);
  });
});
