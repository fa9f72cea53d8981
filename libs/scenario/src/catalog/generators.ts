/**
 * Seeded synthetic rows for the built-in scenarios: same (scenario, role, seed, rows) → same rows,
 * any row count, streamed one row at a time so 10^6-row benchmarks need no big arrays.
 * Every row is conformed to the role's columns in the scenario document (exact column set,
 * numbers inside [min, max], integers whole, categories from the closed list).
 */
import type { ColumnSpec, ParamValues, Row } from '../types.js';
import { checkCatalogId } from './ids.js';
import type { CatalogId } from './ids.js';
import { catalogDocument } from './load.js';
import type { Membership, ParamTools, RoleGenerator, RowContext } from './model.js';
import { Rng } from './prng.js';
import { GENERATORS } from './registry.js';

export interface GenerateOptions {
  /** Row count; defaults to the scenario's default for the role (`defaultRowCounts`). */
  rows?: number;
  /** Any integer in [0, 2^32); default 1. */
  seed?: number;
}

/** Largest entity index a role may scan (ids are 9 digits). */
const MAX_ENTITY = 400_000_000;

function roleGenerator(
  fn: string,
  scenarioId: string,
  role: string,
): { id: CatalogId; gen: RoleGenerator; columns: Record<string, ColumnSpec> } {
  const id = checkCatalogId(fn, scenarioId);
  const roles = GENERATORS[id].roles;
  const input = catalogDocument(id).inputs[role];
  if (!Object.hasOwn(roles, role) || !input) {
    throw new RangeError(`${fn}: scenario ${id} has no role ${JSON.stringify(role)} (roles: ${Object.keys(roles).join(', ')})`);
  }
  return { id, gen: roles[role], columns: input.columns };
}

function checkCount(fn: string, what: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${fn}: ${what} must be a non-negative integer, got ${typeof n === 'number' ? n : typeof n}`);
  }
  return n;
}

function checkSeed(fn: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new RangeError(`${fn}: seed must be an integer in [0, 2^32), got ${typeof seed === 'number' ? seed : typeof seed}`);
  }
  return seed;
}

/** Entity indices (before remapping) a role accepts, in order: k = 0, 1, 2, ... */
function* scan(m: Membership): Generator<number> {
  for (let k = 0; k < MAX_ENTITY; k++) if (m.holds(k)) yield k;
  throw new RangeError(`membership scan passed ${MAX_ENTITY} entities: too many rows requested for an aligned role`);
}

function context(seed: number, id: CatalogId, role: string): RowContext {
  const cache = new Map<string, unknown>();
  return {
    i: 0,
    k: 0,
    rng: Rng.from(seed, id, 'role', role),
    keyed: (ns, k) => Rng.from(seed, id, 'keyed', ns, k),
    shared<T>(key: string, make: (rng: Rng) => T): T {
      if (!cache.has(key)) cache.set(key, make(Rng.from(seed, id, 'shared', key)));
      return cache.get(key) as T;
    },
  };
}

/** The row in the document's column order; out-of-range numbers clamped, anything else a bug. */
function conform(row: Row, columns: Record<string, ColumnSpec>, where: string): Row {
  const out: Row = {};
  for (const [name, spec] of Object.entries(columns)) {
    const v = row[name];
    if (v === undefined) throw new Error(`${where}: generator produced no ${name}`);
    switch (spec.type) {
      case 'id':
        if (typeof v !== 'string' || v === '') throw new Error(`${where}: ${name} must be a non-empty string id`);
        out[name] = v;
        break;
      case 'category':
        if (typeof v !== 'string' || !spec.values.includes(v)) throw new Error(`${where}: ${name} is not one of the document's values`);
        out[name] = v;
        break;
      default: {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: ${name} must be a finite number`);
        const x = spec.type === 'integer' ? Math.round(v) : v;
        out[name] = x < spec.min ? spec.min : x > spec.max ? spec.max : x;
      }
    }
  }
  if (Object.keys(row).length !== Object.keys(out).length) {
    const extra = Object.keys(row).filter((k) => !Object.hasOwn(columns, k));
    throw new Error(`${where}: generator produced columns the document does not declare: ${extra.join(', ')}`);
  }
  return out;
}

/** Streams the rows of one role (for 10^6-row benchmarks). */
export function* generateRoleRowsIter(scenarioId: string, role: string, opts: GenerateOptions = {}): Generator<Row> {
  const fn = 'generateRoleRowsIter';
  const { id, gen, columns } = roleGenerator(fn, scenarioId, role);
  const n = checkCount(fn, 'rows', opts.rows ?? gen.defaultRows);
  const seed = checkSeed(fn, opts.seed ?? 1);
  const c = context(seed, id, role);
  const entities = gen.membership ? scan(gen.membership) : undefined;
  const remap = gen.membership?.remap;
  const where = `${id}/${role}`;
  for (let i = 0; i < n; i++) {
    c.i = i;
    if (entities) {
      const k = entities.next().value as number;
      c.k = remap ? remap(k) : k;
    } else {
      c.k = i;
    }
    yield conform(gen.row(c), columns, where);
  }
}

/** All rows of one role. */
export function generateRoleRows(scenarioId: string, role: string, opts: GenerateOptions = {}): Row[] {
  return Array.from(generateRoleRowsIter(scenarioId, role, opts));
}

/** Default row count per role (docs/scenarios.md; realistic sizes where it names none). */
export function defaultRowCounts(scenarioId: string): Record<string, number> {
  const id = checkCatalogId('defaultRowCounts', scenarioId);
  return Object.fromEntries(Object.entries(GENERATORS[id].roles).map(([role, g]) => [role, g.defaultRows]));
}

function entitiesOf(id: CatalogId, role: string, rows: number): { list: number[]; lastScanned: number } {
  const gen = GENERATORS[id].roles[role];
  if (!gen) throw new RangeError(`defaultParams: scenario ${id} has no role ${JSON.stringify(role)}`);
  if (!gen.membership) return { list: Array.from({ length: rows }, (_, i) => i), lastScanned: rows - 1 };
  const list: number[] = [];
  let last = -1;
  const it = scan(gen.membership);
  for (let i = 0; i < rows; i++) {
    const k = it.next().value as number;
    last = k;
    list.push(gen.membership.remap ? gen.membership.remap(k) : k);
  }
  return { list, lastScanned: last };
}

/**
 * Parameter values a consumer would submit with the default (or given) row counts: declared
 * defaults from the document, plus key lists drawn from the rows the providers will hold (some
 * present, a few absent) and the consumer's model weights. Private ones are returned in the
 * clear: the consumer's SDK encrypts them before submission.
 */
export function defaultParams(scenarioId: string, rowsByRole: Record<string, number> = {}): ParamValues {
  const id = checkCatalogId('defaultParams', scenarioId);
  const gen = GENERATORS[id];
  const rows = defaultRowCounts(id);
  for (const [role, n] of Object.entries(rowsByRole)) {
    if (!Object.hasOwn(rows, role)) throw new RangeError(`defaultParams: scenario ${id} has no role ${JSON.stringify(role)}`);
    rows[role] = checkCount('defaultParams', `rows of ${role}`, n);
  }
  const out: ParamValues = {};
  for (const [name, spec] of Object.entries(catalogDocument(id).params ?? {})) {
    if (spec.default !== undefined) out[name] = structuredClone(spec.default);
  }
  const tools: ParamTools = {
    entitiesOf: (role, n) => entitiesOf(id, role, n).list,
    scannedUpTo: (r) => Math.max(...Object.entries(r).map(([role, n]) => entitiesOf(id, role, n).lastScanned)),
  };
  Object.assign(out, gen.params?.(rows, tools) ?? {});
  for (const name of Object.keys(catalogDocument(id).params ?? {})) {
    if (!Object.hasOwn(out, name)) throw new Error(`defaultParams: no value for parameter ${name} of ${id}`);
  }
  return out;
}
