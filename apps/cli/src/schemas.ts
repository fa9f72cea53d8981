/**
 * The JSON Schemas of the public documents, generated from their zod schemas (zod 4 `z.toJSONSchema`)
 * and committed under `schemas/` so editors can check scenario and dataset files (`"$schema"` in a
 * document). `npm run schemas` rewrites them; `schemas.spec.ts` fails when they are out of date.
 * They check shape only: `dataspace scenarios validate` / `datasets validate` check everything.
 */
import { z } from 'zod';
import { datasetDocumentSchema } from '#dataset';
import { scenarioJsonSchema } from '#scenario';

/** File name under `schemas/` → its JSON Schema (draft 2020-12). */
export function jsonSchemas(): Record<string, Record<string, unknown>> {
  const dataset = z.toJSONSchema(datasetDocumentSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    'scenario.schema.json': scenarioJsonSchema,
    'dataset.schema.json': {
      ...dataset,
      title: 'Dataset document',
      description: 'A dataset document of the trusted data space (docs/datasets-and-policies.md): columns and usage policy, never rows. Shape only: registration also checks the rules the schema cannot say.',
    },
  };
}

/** The committed text of a schema file: two-space JSON and a final newline. */
export function schemaText(schema: Record<string, unknown>): string {
  return JSON.stringify(schema, null, 2) + '\n';
}
