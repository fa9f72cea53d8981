/**
 * The connector protocol: everything a provider connector and the broker exchange, in one place, imported by
 * both sides (they never import each other). The port (`ConnectorPort`) is served by the broker's gateway
 * (in process, called directly) and by the connector's HTTP client (deployed apart, over the routes below).
 * Every document either side receives is checked against the zod schemas here: the broker checks what a
 * connector sends (ConnectorController), and the connector checks what the broker sends (`readBrokerDocument`),
 * since it trusts the broker no more than any other party (README, threat model).
 */
import { z } from 'zod';
import { columnsSchema } from '#dataset';
import { type UsagePolicy, usagePolicySchema } from '#policy';
import { type Plan, type Scenario, validateScenario, whereSchema } from '#scenario';
import { type ErrorDetail, zodDetails } from './errors.js';
import { type ProviderReport, providerReportSchema } from './job-document.js';

// ---------------------------------------------------------------------------------------------------------------
// Routes: the broker serves the connector protocol under `/connector` (role `connector`), and `participants/me`
// tells a connector which connector id its credential is bound to.

export const CONNECTOR_ROUTE_PREFIX = 'connector';

/** The connector routes under CONNECTOR_ROUTE_PREFIX, in the Nest/Express pattern syntax (`:name` segments). */
export const ConnectorRoute = {
  offer: 'offers/:id',
  job: 'jobs/:id',
  keyset: 'keysets/:id',
  uploadBegin: 'jobs/:id/inputs/:role/begin',
  uploadPart: 'jobs/:id/inputs/:role/parts',
  uploadCommit: 'jobs/:id/inputs/:role/commit',
  progress: 'jobs/:id/roles/:role/progress',
  refusal: 'jobs/:id/roles/:role/refusal',
  failure: 'jobs/:id/roles/:role/failure',
  psiSet: 'jobs/:id/psi/:role/sets/:set/:keys',
  psiMatches: 'jobs/:id/psi/:role/matches',
} as const;
export type ConnectorRouteName = keyof typeof ConnectorRoute;

/** The `:name` parameters of a route pattern. */
type RouteParams<S extends string> = S extends `${string}:${infer P}/${infer R}`
  ? P | RouteParams<R>
  : S extends `${string}:${infer P}`
    ? P
    : never;

/** The path of a connector route (relative, no leading slash), each parameter URI-encoded. */
export function connectorPath<R extends ConnectorRouteName>(
  route: R,
  params: Record<RouteParams<(typeof ConnectorRoute)[R]>, string | number>,
): string {
  const values = params as Record<string, string | number>;
  const filled = ConnectorRoute[route].replace(/:([a-z]+)/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new TypeError(`connector route ${route}: no value for :${name}`);
    return encodeURIComponent(String(v));
  });
  return `${CONNECTOR_ROUTE_PREFIX}/${filled}`;
}

/** Who a credential is (the broker's participants route); a connector reads the connector id it is bound to. */
export const WHO_AM_I_PATH = 'participants/me';

// ---------------------------------------------------------------------------------------------------------------
// Documents a connector sends to the broker (checked by the broker's ConnectorController).

/** A job, keyset, dataset or participant id as the broker makes them. */
export const connectorIdSchema = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, '1..64 letters, digits and . _ : -');
const text = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((v) => !v.includes('\u0000'), 'no NUL character');
const count = z.number().int().min(0);

/** A usage policy as the broker stores it (the schema's output is a `UsagePolicy`: checked here at compile time). */
const offerPolicySchema: z.ZodType<UsagePolicy> = usagePolicySchema;

/** A dataset's catalog offer, as its connector publishes it (the columns and policy of its dataset document). */
export const offerDocumentSchema = z.strictObject({
  datasetId: connectorIdSchema,
  providerId: connectorIdSchema,
  connectorId: connectorIdSchema,
  name: text(1, 200),
  description: text(0, 10_000),
  columns: columnsSchema,
  policy: offerPolicySchema,
  rowCount: count.max(2 ** 31 - 1),
});
export type OfferDocument = z.infer<typeof offerDocumentSchema>;

/** What a provider reports when its role's upload is complete (counts only, never a value). */
export const uploadMetaSchema = z.strictObject({
  rows: count,
  groupCounts: z.record(z.string(), z.array(count)),
  missingKeys: count,
  skippedRows: count,
  ciphertexts: count,
  bytes: count,
});
export type UploadMeta = z.infer<typeof uploadMetaSchema>;
export const uploadCommitSchema = z.strictObject({ meta: uploadMetaSchema });

export const progressReportSchema = z.strictObject({ progress: providerReportSchema });

/** One reason a provider refuses a task (a policy reason code, or a check of the task against the job). */
export const refusalReasonSchema = z.strictObject({ code: z.string().max(60), message: z.string().max(500) });
export type RefusalReason = z.infer<typeof refusalReasonSchema>;
export const refusalReportSchema = z.strictObject({ reasons: z.array(refusalReasonSchema).max(50) });

export const FAILURE_MESSAGE_MAX = 2000;
export const failureReportSchema = z.strictObject({ message: z.string().max(FAILURE_MESSAGE_MAX) });

/** A part of a role's upload: for each feature, saved ciphertexts from chunk index `first` on (sent framed, below). */
export interface UploadPart {
  features: { id: string; first: number; chunks: Uint8Array[] }[];
}
/** The metadata of a framed upload part: each feature's first chunk index. */
export const uploadPartMetaSchema = z.object({ first: z.array(count) });

// ---------------------------------------------------------------------------------------------------------------
// Documents the broker sends to a connector (checked by the connector: `readBrokerDocument`).

const finite = z.number();
const name = z.string().min(1).max(1000);

/**
 * The compiled plan (`#scenario`'s `Plan`, libs/scenario/src/compiler/plan-types.ts) as a schema. Its type is
 * checked against `Plan` at compile time (`z.ZodType<Plan>` below): a field added to the plan must be added here.
 */
const heParams = z.strictObject({
  scheme: z.literal('ckks'),
  polyModulusDegree: z.union([z.literal(8192), z.literal(16384)]),
  coeffModulusBits: z.array(z.number().int().positive()).min(1),
  scaleBits: z.number().int().positive(),
});
const localGrouping = z.strictObject({ columns: z.array(z.strictObject({ column: name, values: z.array(z.string()) })) });
const featureValue = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('one'), scale: finite.optional() }),
  z.strictObject({ kind: z.literal('columns'), factors: z.array(z.strictObject({ column: name, power: finite })), scale: finite }),
  z.strictObject({ kind: z.literal('bin'), column: name, lo: finite, hi: finite, closed: z.boolean(), scale: finite.optional() }),
  z.strictObject({ kind: z.literal('linear'), terms: z.array(z.strictObject({ column: name, weight: finite })), scale: finite }),
]);
const providerWork = z.strictObject({
  columns: z.array(name),
  bounds: z.record(z.string(), z.strictObject({ min: finite, max: finite })),
  alignOn: name.optional(),
  features: z.array(
    z.strictObject({
      id: name,
      layout: z.enum(['totals', 'aligned']),
      value: featureValue,
      where: whereSchema.optional(),
      grouping: localGrouping,
      width: count,
      perGroupMean: z.boolean().optional(),
      groupIs: z.array(z.strictObject({ column: name, value: z.string() })).optional(),
      rowLevel: z.boolean().optional(),
    }),
  ),
  counts: z.array(z.strictObject({ id: name, where: whereSchema.optional(), grouping: localGrouping })),
  maxRows: count.optional(),
  unit: z
    .strictObject({
      column: name,
      maxGroups: z.number().int().min(1),
      maxRowsPerGroup: z.number().int().min(1),
      groupBy: z.array(z.strictObject({ column: name, values: z.array(z.string()) })),
    })
    .optional(),
});
const plainVec = z.strictObject({ kind: z.enum(['const', 'keys']), value: finite });
const node = z.string().min(1);
const nodeBase = { id: node, level: count, chunked: z.boolean() };
const circuitNode = z.discriminatedUnion('op', [
  z.strictObject({ ...nodeBase, op: z.literal('input'), role: name, feature: name }),
  z.strictObject({ ...nodeBase, op: z.literal('private'), name }),
  z.strictObject({ ...nodeBase, op: z.literal('reduce'), a: node }),
  z.strictObject({ ...nodeBase, op: z.literal('add'), args: z.array(node) }),
  z.strictObject({ ...nodeBase, op: z.literal('sub'), a: node, b: node }),
  z.strictObject({ ...nodeBase, op: z.literal('mul'), a: node, b: node }),
  z.strictObject({ ...nodeBase, op: z.literal('mulPlain'), a: node, plain: plainVec }),
  z.strictObject({ ...nodeBase, op: z.literal('addPlain'), a: node, plain: plainVec }),
  z.strictObject({ ...nodeBase, op: z.literal('sumSlots'), a: node, width: z.number().int().positive() }),
  z.strictObject({
    ...nodeBase,
    op: z.literal('mask'),
    a: node,
    entries: z.array(z.strictObject({ group: count, slot: count, scale: finite })),
    conditions: z.array(name),
    blind: name.optional(),
  }),
  z.strictObject({
    ...nodeBase,
    op: z.literal('noise'),
    a: node,
    slots: z.array(count),
    scale: finite,
    grid: finite.optional(),
    blind: name.optional(),
  }),
]);
const read = z.strictObject({ output: name, slots: z.array(count), factor: finite, blinded: z.boolean().optional() });
const metricDecoding = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('value'), read, round: z.boolean() }),
  z.strictObject({ kind: z.literal('quotient'), num: read, den: read }),
  z.strictObject({ kind: z.literal('moments'), m1: read, m2: read, count: read.optional(), factor2: finite, sqrt: z.boolean() }),
  z.strictObject({ kind: z.literal('histogram'), bins: z.array(read) }),
  z.strictObject({ kind: z.literal('ratio'), a: name, b: name, emptyDen: z.array(name).optional(), blinded: z.boolean().optional() }),
  z.strictObject({ kind: z.literal('correlation'), sa: read, sb: read, saa: read, sbb: read, sab: read, n: finite }),
  z.strictObject({ kind: z.literal('rows'), outputs: z.array(name), factor: finite }),
]);
export const planSchema: z.ZodType<Plan> = z.strictObject({
  format: z.literal('dataspace-plan/1'),
  scenario: z.string().min(1).max(200),
  params: heParams,
  slots: z.number().int().positive(),
  depth: count,
  galoisSteps: z.array(z.number().int()),
  needsRelin: z.boolean(),
  align: z.strictObject({ on: z.record(z.string(), name), keys: z.array(z.string()).nullable() }).nullable(),
  roles: z.record(z.string(), providerWork),
  circuit: z.strictObject({ nodes: z.array(circuitNode) }),
  conditions: z.array(
    z.strictObject({
      id: name,
      minGroupSize: z.number().int().min(1),
      groups: count,
      parts: z.array(z.strictObject({ role: name, count: name, groupMap: z.array(count) })),
      combine: z.enum(['sum', 'min']),
      terms: z.array(z.array(count)).optional(),
      kind: z.enum(['minGroupSize', 'empty']),
      jointCount: read.optional(),
      selection: z
        .strictObject({
          epsilon: finite.positive(),
          delta: finite.positive().max(1),
          sensitivity: finite.positive(),
          scale: finite.positive(),
          threshold: finite,
        })
        .optional(),
    }),
  ),
  outputs: z.array(z.strictObject({ id: name, node, conditions: z.array(name), anyGroup: z.boolean().optional() })),
  privateInputs: z.array(
    z.strictObject({
      name,
      param: name,
      index: count.nullable(),
      multiplier: finite,
      layout: z.enum(['replicated', 'slots']),
      slots: z.array(count).optional(),
      maxAbs: finite.optional(),
    }),
  ),
  epsilon: finite.min(0),
  decoding: z.strictObject({
    metrics: z.record(z.string(), metricDecoding),
    groups: z.record(z.string(), z.array(z.string()).nullable()),
    released: z.array(name),
  }),
});

/** A scenario document, checked by the scenario lib's own gate (`validateScenario`), its issues as zod issues. */
const scenarioDocument = z.unknown().transform((doc, ctx): Scenario => {
  const v = validateScenario(doc);
  if (v.ok) return v.scenario;
  for (const e of v.errors)
    ctx.addIssue({
      code: 'custom',
      message: `${e.code}: ${e.message}`,
      path: e.path
        .split('/')
        .slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
    });
  return z.NEVER;
});

/**
 * A job as the broker shows it to a connector whose dataset it binds: what the connector checks a task against
 * (consumer, purpose, bindings, state), the plan it does its part of, and the scenario document at the job's version
 * (it re-checks its own policy against it).
 */
export const connectorJobSchema = z.strictObject({
  id: connectorIdSchema,
  consumerId: z.string().min(1).max(64),
  purpose: z.string().min(1).max(100),
  status: z.string().min(1).max(16),
  scenarioId: z.string().min(1).max(100),
  /** The scenario version the job runs (absent from an older broker: a policy with a scenario allowlist then refuses). */
  scenarioVersion: z.number().int().min(1).optional(),
  bindings: z.record(z.string(), connectorIdSchema),
  plan: planSchema,
  scenario: scenarioDocument,
  keysetId: connectorIdSchema,
  /** The job was accepted with its row counts withheld from the consumer (a bound dataset's policy): record none. */
  countsWithheld: z.boolean().optional(),
});
export type ConnectorJob = z.output<typeof connectorJobSchema>;

/** The positions of a party's matched points in the intersection's order. */
export const psiMatchesSchema = z.strictObject({ positions: z.array(count) });

/** The part of the broker's participant document a connector reads (the rest is the broker's). */
export const whoAmISchema = z.looseObject({ connectorId: connectorIdSchema.optional() });

/** The broker's error document (`{error, message, details}`), as a connector reads a refusal. */
export const brokerErrorSchema = z.looseObject({ error: z.string().max(60), message: z.string().max(2000).optional() });

/**
 * A document from the broker that is not what the protocol says: the connector refuses to act on it. `details`
 * name each problem by its JSON path (`$.plan.roles.utility.features[0].width`), never its value.
 */
export class BrokerDocumentError extends Error {
  readonly code = 'MALFORMED_BROKER_DOCUMENT';
  constructor(
    readonly what: string,
    readonly details: ErrorDetail[],
  ) {
    super(
      `the broker's ${what} document is malformed: ${details
        .slice(0, 5)
        .map((d) => `${d.path} ${d.message}`)
        .join('; ')}${details.length > 5 ? `; and ${details.length - 5} more` : ''}`,
    );
    this.name = 'BrokerDocumentError';
  }
}

/** Checks a document received from the broker (a JSON value): the typed document, or BrokerDocumentError. */
export function readBrokerDocument<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new BrokerDocumentError(what, zodDetails(r.error.issues));
  return r.data;
}

// ---------------------------------------------------------------------------------------------------------------
// The port.

/**
 * What a provider connector needs from the broker. The broker's ConnectorGateway implements it for a connector in
 * the broker's process (or on the broker's database); the connector's HttpBrokerLink implements it over the routes
 * above for a connector deployed apart. An abstract class so that it is also the dependency-injection token.
 */
export abstract class ConnectorPort {
  /** The connector id the broker binds this link's credential to (null in process: no credential is used). */
  abstract boundConnectorId(): Promise<string | null>;
  abstract publishOffer(o: OfferDocument): Promise<void>;
  /** The job, checked against `connectorJobSchema`; null when the broker has no such job (for this connector). */
  abstract job(jobId: string): Promise<ConnectorJob | null>;
  abstract publicKeyset(keysetId: string): Promise<Uint8Array>;
  /** Staged upload: begin (clears an interrupted attempt), parts, then commit (replaces the role's set, never duplicates). */
  abstract beginUpload(jobId: string, role: string): Promise<void>;
  abstract uploadPart(jobId: string, role: string, part: UploadPart): Promise<void>;
  abstract commitUpload(jobId: string, role: string, meta: UploadMeta): Promise<void>;
  /** Progress of a running job; a report about a job that ended (or is gone) changes nothing. */
  abstract reportProgress(jobId: string, role: string, progress: ProviderReport): Promise<void>;
  abstract reportRefusal(jobId: string, role: string, reasons: RefusalReason[]): Promise<void>;
  abstract reportFailure(jobId: string, role: string, message: string): Promise<void>;
  /**
   * Private set intersection through the broker (blinded point batches only, never an id): post set `set` carrying
   * `keys` keys (this role's own set with 1, or a set it re-blinded); fetch a set it must re-blind next (null until
   * posted); fetch the positions of its own matched points once the broker has intersected (null until then).
   */
  abstract psiSubmit(jobId: string, role: string, set: number, keys: number, points: Uint8Array): Promise<void>;
  abstract psiTask(jobId: string, role: string, set: number, keys: number): Promise<Uint8Array | null>;
  abstract psiMatches(jobId: string, role: string): Promise<number[] | null>;
}

// ---------------------------------------------------------------------------------------------------------------
// Framing of an upload part.

/**
 * Framing of a connector's ciphertext upload (one HTTP body): a 4-byte big-endian header length, the header
 * (UTF-8 JSON: metadata and, per feature, the byte length of each chunk), then every chunk's bytes in order.
 */
export interface UploadHeader {
  meta: Record<string, unknown>;
  features: { id: string; sizes: number[] }[];
}

/**
 * Ciphertexts of one feature a connector sends in one part of an upload: the broker bounds a part's body
 * by this many of the plan's ciphertexts (it is held in memory while it is stored).
 */
export const UPLOAD_BATCH_CHUNKS = 64;

export function frameUpload(meta: Record<string, unknown>, features: { id: string; chunks: Uint8Array[] }[]): Uint8Array[] {
  const header: UploadHeader = { meta, features: features.map((f) => ({ id: f.id, sizes: f.chunks.map((c) => c.length) })) };
  const h = new TextEncoder().encode(JSON.stringify(header));
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, h.length);
  return [len, h, ...features.flatMap((f) => f.chunks)];
}

export function unframeUpload(body: Uint8Array): { meta: Record<string, unknown>; features: { id: string; chunks: Uint8Array[] }[] } {
  if (body.length < 4) throw new RangeError('upload too short');
  const hl = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
  if (4 + hl > body.length) throw new RangeError('upload header overruns the body');
  const header = JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + hl))) as UploadHeader;
  if (!header || typeof header !== 'object' || !Array.isArray(header.features)) throw new RangeError('bad upload header');
  let at = 4 + hl;
  const features = header.features.map((f) => {
    if (typeof f.id !== 'string' || !Array.isArray(f.sizes)) throw new RangeError('bad feature in upload header');
    return {
      id: f.id,
      chunks: f.sizes.map((n) => {
        if (!Number.isInteger(n) || n < 0 || at + n > body.length) throw new RangeError('chunk overruns the body');
        const c = body.subarray(at, at + n);
        at += n;
        return c;
      }),
    };
  });
  if (at !== body.length) throw new RangeError('trailing bytes after the last chunk');
  return { meta: header.meta ?? {}, features };
}
