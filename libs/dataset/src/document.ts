import { z } from 'zod';
import { usagePolicySchema } from '#policy';
import type { UsagePolicy } from '#policy';
import { columnsSchema } from './columns.js';
import type { Columns } from './columns.js';

/** The dataset document (docs/datasets-and-policies.md): schema + usage policy, never rows. */
export interface DatasetDocument {
  name: string;
  description?: string;
  columns: Columns;
  policy: UsagePolicy;
}

export const datasetDocumentSchema = z.strictObject({
  /** An editor hint (the path or URL of `schemas/dataset.schema.json`); accepted and dropped. */
  $schema: z.string().max(4000).optional(),
  name: z.string().trim().min(1, 'name must be non-empty').max(200),
  description: z.string().max(10_000).optional(),
  columns: columnsSchema,
  policy: usagePolicySchema,
});

/** JSON Schema (draft 2020-12) of the dataset document: its shape, for editors (`schemas/dataset.schema.json`). */
export const datasetJsonSchema: Record<string, unknown> = {
  ...(z.toJSONSchema(datasetDocumentSchema, { target: 'draft-2020-12' }) as Record<string, unknown>),
  title: 'Dataset document',
  description:
    'A dataset document of the trusted data space (docs/datasets-and-policies.md): columns and usage policy, never rows. ' +
    'Shape only: registration also checks the rules a schema cannot say.',
};

export interface DocumentError {
  /** Dotted path into the document, e.g. `columns.m3.min`; `""` for the document itself. */
  path: string;
  /** Machine-readable code, e.g. `INVALID_TYPE`, `MIN_GREATER_THAN_MAX`, `UNRECOGNIZED_KEYS`. */
  code: string;
  message: string;
}

export type DocumentValidation = { ok: true; dataset: DatasetDocument } | { ok: false; errors: DocumentError[] };

function issueCode(issue: z.core.$ZodIssue): string {
  if (issue.code === 'custom') {
    const c = (issue.params as { code?: unknown } | undefined)?.code;
    if (typeof c === 'string') return c;
  }
  return issue.code.toUpperCase();
}

/** A record key issue wraps the key's own issue ("Invalid key in record"); surface the inner, precise message. */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}

/** Validates an untrusted dataset document (HTTP body, CLI file) once, at the edge, into a typed value. */
export function validateDatasetDocument(doc: unknown): DocumentValidation {
  const r = datasetDocumentSchema.safeParse(doc);
  if (r.success) {
    // Type check that the schema output matches the documented interface; `$schema` is not kept.
    const { $schema, ...dataset }: { $schema?: string } & DatasetDocument = r.data;
    void $schema;
    return { ok: true, dataset };
  }
  return {
    ok: false,
    errors: r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), code: issueCode(i), message: issueMessage(i) })),
  };
}
