/**
 * The scenario document as a zod 4 schema, published as JSON Schema (draft 2020-12) for
 * `GET /scenarios/schema` and editors. It describes the document's *shape*; the checks
 * that need the whole document (refs resolve, types match, groupings agree, ...) are
 * `validateScenario`'s, which is always the gate: every document it accepts also matches
 * this schema (tested).
 */
import { z } from 'zod';
import type { WhereExpr } from '../types.js';
import { MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_UNIT_BOUND } from '../validate/names.js';

const NAME = '[A-Za-z_][A-Za-z0-9_-]*';
const name = z
  .string()
  .max(MAX_NAME_LENGTH)
  .regex(new RegExp(`^${NAME}$`))
  .meta({ description: 'identifier: letters, digits, _ and -; no dots' });
const ref = z
  .string()
  .regex(new RegExp(`^${NAME}\\.${NAME}$`))
  .meta({ description: '"role.column"' });
const paramRef = z
  .string()
  .regex(new RegExp(`^\\$params\\.${NAME}$`))
  .meta({ description: '"$params.name"' });
const text = (max: number) => z.string().max(max);
const description = text(4000).optional();
const categoryValues = z
  .array(
    z
      .string()
      .min(1)
      .max(200)
      .regex(/^[^|]*$/),
  )
  .min(1)
  .meta({ description: 'closed list of distinct values (no "|")' });

const column = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('number'), min: z.number(), max: z.number(), description }),
  z.strictObject({ type: z.literal('integer'), min: z.int(), max: z.int(), description }),
  z.strictObject({ type: z.literal('category'), values: categoryValues, description }),
  z.strictObject({ type: z.literal('id'), description }),
]);

const role = z.strictObject({ columns: z.record(name, column), description });

const param = z.strictObject({
  type: z.enum(['number', 'number-list', 'id-list', 'category']),
  private: z.boolean().optional().meta({ description: "only number and number-list: sent encrypted under the consumer's key" }),
  values: categoryValues.optional().meta({ description: 'only category: the allowed values' }),
  description,
  default: z.union([z.number(), z.array(z.number()).min(1), z.string(), z.array(z.string()).min(1)]).optional(),
});

const literal = z.union([z.number(), z.string()]);
const comparison = (op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le') => z.strictObject({ [op]: z.tuple([ref, literal]) });
export const whereSchema: z.ZodType<WhereExpr> = z
  .lazy(() =>
    z.union([
      comparison('eq'),
      comparison('ne'),
      comparison('gt'),
      comparison('ge'),
      comparison('lt'),
      comparison('le'),
      z.strictObject({ in: z.tuple([ref, z.union([z.array(literal).min(1), paramRef])]) }),
      z.strictObject({ and: z.array(whereSchema).min(1) }),
      z.strictObject({ or: z.array(whereSchema).min(1) }),
      z.strictObject({ not: whereSchema }),
    ]),
  )
  .meta({
    id: 'WhereExpr',
    description: 'one operator per node: eq|ne|gt|ge|lt|le [ref, literal], in [ref, [literals] | "$params.x"], and|or [exprs], not expr',
  }) as z.ZodType<WhereExpr>;

const by = z.union([ref, z.array(ref).min(1)]).meta({ description: 'category ref(s); a list is a cross product' });
const refOrList = z.union([ref, z.array(ref).min(1)]);
const common = { name, release: z.boolean().optional(), description };
const filtered = { where: whereSchema.optional(), by: by.optional() };

const metric = z.discriminatedUnion('agg', [
  z.strictObject({ ...common, agg: z.literal('count'), role: z.union([name, z.array(name).min(1)]), ...filtered }),
  z.strictObject({ ...common, agg: z.literal(['sum', 'mean', 'variance', 'stddev']), of: refOrList, ...filtered }),
  z.strictObject({ ...common, agg: z.literal('histogram'), of: refOrList, bins: z.array(z.number()).min(2), ...filtered }),
  z.strictObject({ ...common, agg: z.literal('sumProduct'), of: z.tuple([ref, ref]), ...filtered }),
  z.strictObject({
    ...common,
    agg: z.literal('weightedSum'),
    of: z.array(ref).min(1),
    weights: z.union([z.array(z.number()).min(1), paramRef]),
    bias: z.union([z.number(), paramRef]).optional(),
  }),
  z.strictObject({
    ...common,
    agg: z.literal(['correlation', 'dot', 'ratio', 'difference']),
    of: z.tuple([name, z.union([name, paramRef])]),
  }),
]);

export const scenarioDocumentSchema = z
  .strictObject({
    $schema: z.string().optional(),
    id: z
      .string()
      .max(MAX_ID_LENGTH)
      .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/),
    title: z.string().min(1).max(200),
    sector: text(200).optional(),
    description,
    inputs: z.record(name, role).meta({ description: 'role → the columns the scenario needs' }),
    params: z.record(name, param).optional(),
    metrics: z.array(metric).min(1),
    align: z.strictObject({ on: z.record(name, name), keys: paramRef.optional() }).optional(),
    release: z
      .strictObject({
        minGroupSize: z.int().min(1).optional(),
        noise: z.strictObject({ mechanism: z.literal('laplace'), epsilon: z.number().min(1e-6).max(1e6) }).optional(),
        rowLevel: z.boolean().optional(),
        privacyUnit: z
          .strictObject({
            on: z.record(name, name).meta({ description: 'role → its id column holding the unit; every role of inputs is listed' }),
            maxGroups: z.int().min(1).max(MAX_UNIT_BOUND).meta({ description: 'groups one unit may contribute to, per role' }),
            maxRowsPerGroup: z.int().min(1).max(MAX_UNIT_BOUND).meta({ description: 'rows one unit may contribute to each group' }),
          })
          .optional()
          .meta({ description: 'contribution bounding: providers keep at most maxRowsPerGroup rows in at most maxGroups groups per unit' }),
      })
      .optional(),
  })
  .meta({
    title: 'Scenario',
    description:
      'A scenario document of the trusted data space (docs/scenario-format.md). Shape only: registration also checks references, types and groupings.',
  });

/** JSON Schema (draft 2020-12) of the scenario document, for `GET /scenarios/schema`. */
export const scenarioJsonSchema: Record<string, unknown> = z.toJSONSchema(scenarioDocumentSchema, { target: 'draft-2020-12' }) as Record<
  string,
  unknown
>;
