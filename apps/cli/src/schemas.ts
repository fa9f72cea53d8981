/**
 * The JSON Schemas of the public documents, generated from their zod schemas (zod 4 `z.toJSONSchema`)
 * and committed under `schemas/` so editors can check scenario and dataset files (`"$schema"` in a
 * document). `npm run schemas` rewrites them; `schemas.spec.ts` fails when they are out of date.
 * They check shape only: `dataspace scenarios validate` / `datasets validate` check everything.
 */
import { datasetJsonSchema } from '#dataset';
import { scenarioJsonSchema } from '#scenario';

/** File name under `schemas/` → its JSON Schema (draft 2020-12). */
export function jsonSchemas(): Record<string, Record<string, unknown>> {
  return { 'scenario.schema.json': scenarioJsonSchema, 'dataset.schema.json': datasetJsonSchema };
}

/** The committed text of a schema file: two-space JSON and a final newline. */
export function schemaText(schema: Record<string, unknown>): string {
  return JSON.stringify(schema, null, 2) + '\n';
}
