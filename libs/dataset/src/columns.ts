import { z } from 'zod';

/**
 * Column types of a dataset (docs/scenario-format.md, "Inputs"): `number` and `integer` carry
 * bounds because the scenario layer derives CKKS scaling and Laplace sensitivity from them;
 * `category` is a closed list; `id` is an opaque key used only for alignment.
 */
export interface NumberColumn {
  type: 'number' | 'integer';
  min: number;
  max: number;
  description?: string;
}
export interface CategoryColumn {
  type: 'category';
  values: string[];
  description?: string;
}
export interface IdColumn {
  type: 'id';
  description?: string;
}
export type ColumnSpec = NumberColumn | CategoryColumn | IdColumn;
export type Columns = Record<string, ColumnSpec>;

/** One validated row: column name -> value (ids and categories are strings, numbers are numbers). */
export type DatasetRow = Record<string, number | string>;

/** Longest id / category value accepted, so one cell cannot make a row unbounded. */
export const MAX_TEXT_LENGTH = 256;

/** Column names are referred to as `role.column` in scenarios, so no dots or spaces. */
export const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Largest magnitude of a column bound: beyond it, `max - min` and the fixed-point encoding of values lose
 * integer precision or overflow (±1e308 bounds made the range Infinity).
 */
export const MAX_COLUMN_BOUND = 1e15;
const finite = z
  .number()
  .refine(Number.isFinite, 'must be a finite number')
  .refine((v) => Math.abs(v) <= MAX_COLUMN_BOUND, `must be between -${MAX_COLUMN_BOUND} and ${MAX_COLUMN_BOUND}`);

const numberColumn = z
  .strictObject({
    type: z.enum(['number', 'integer']),
    min: finite,
    max: finite,
    description: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.min > c.max)
      ctx.addIssue({ code: 'custom', path: ['min'], message: 'min must be <= max', params: { code: 'MIN_GREATER_THAN_MAX' } });
    if (c.type === 'integer') {
      if (!Number.isInteger(c.min))
        ctx.addIssue({
          code: 'custom',
          path: ['min'],
          message: 'min of an integer column must be an integer',
          params: { code: 'NOT_AN_INTEGER' },
        });
      if (!Number.isInteger(c.max))
        ctx.addIssue({
          code: 'custom',
          path: ['max'],
          message: 'max of an integer column must be an integer',
          params: { code: 'NOT_AN_INTEGER' },
        });
    }
  });

const categoryColumn = z
  .strictObject({
    type: z.literal('category'),
    values: z
      .array(z.string().min(1, 'a category value must be non-empty').max(MAX_TEXT_LENGTH))
      .min(1, 'a category column needs at least one value'),
    description: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.values.forEach((v, i) => {
      if (seen.has(v))
        ctx.addIssue({ code: 'custom', path: ['values', i], message: 'duplicate category value', params: { code: 'DUPLICATE_VALUE' } });
      seen.add(v);
    });
  });

const idColumn = z.strictObject({ type: z.literal('id'), description: z.string().optional() });

export const columnSpecSchema = z.discriminatedUnion('type', [numberColumn, categoryColumn, idColumn]);

/** Names that would alias Object.prototype members when rows are plain objects. */
const RESERVED = new Set(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf']);

export const columnsSchema = z
  .record(
    z
      .string()
      .regex(COLUMN_NAME, 'column names are identifiers: a letter or _, then letters, digits or _ (at most 64)')
      .refine((n) => !RESERVED.has(n), 'reserved column name'),
    columnSpecSchema,
  )
  .refine((c) => Object.keys(c).length > 0, 'a dataset needs at least one column');
