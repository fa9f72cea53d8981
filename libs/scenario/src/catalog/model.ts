/**
 * The shape of a catalog data generator: per (scenario, role), a default row count, an optional
 * membership in an entity universe shared with aligned roles, and a function making one row.
 * Categories, bounds and column names come from the scenario document itself; generators only
 * choose realistic values (and `generators.ts` conforms every row to the document).
 */
import type { ParamValues, Row } from '../types.js';
import { Rng, Weighted } from './prng.js';

export interface RowContext {
  /** 0-based index of the row in this role's output. */
  i: number;
  /**
   * The entity this row describes: for a role aligned by id with others, its index in the
   * universe the roles share (the same k in two roles is the same firm, resident, plot...);
   * otherwise equal to `i`.
   */
  k: number;
  /** This role's own stream, consumed row after row. */
  rng: Rng;
  /** A generator for facts about item `k` of kind `ns` that every role of the scenario agrees on. */
  keyed(ns: string, k: number): Rng;
  /** A scenario-wide fact (a storm's rain field, an area's sea temperature), computed once per run. */
  shared<T>(key: string, make: (rng: Rng) => T): T;
}

/** Which entities of the shared universe a role holds, decided without the seed. */
export interface Membership {
  /** True when the role holds entity k (scanned k = 0, 1, 2, ... until the row count is reached). */
  holds(k: number): boolean;
  /** An accepted k may be replaced by an entity no other role holds (a fictitious invoice, say). */
  remap?(k: number): number;
}

/** Entities 0..15 are held by every aligned role: tiny test sizes still intersect in every group. */
export const CORE_ENTITIES = 16;

export interface RoleGenerator {
  /** Row count by default (docs/scenarios.md, or a realistic size where it names none). */
  defaultRows: number;
  membership?: Membership;
  row(c: RowContext): Row;
}

export interface ParamTools {
  /** Entities role `role` holds when generating `rows` rows (in row order). */
  entitiesOf(role: string, rows: number): number[];
  /** Largest entity index any of the listed roles scans when generating `rows[role]` rows. */
  scannedUpTo(rowsByRole: Record<string, number>): number;
}

export interface ScenarioGenerator {
  roles: Record<string, RoleGenerator>;
  /**
   * Parameter values a consumer would submit (ids to look up, model weights...); params with a
   * `default` in the document need not be listed here.
   */
  params?(rowsByRole: Record<string, number>, tools: ParamTools): ParamValues;
}

// ---- Shared vocabulary (values must match the documents; tests check every row against them).

export const DISTRICTS = ['shinan', 'shibei', 'licang', 'laoshan', 'chengyang', 'huangdao', 'jimo', 'jiaozhou', 'pingdu', 'laixi'] as const;
export type District = (typeof DISTRICTS)[number];

/** Resident population, 10,000s (Qingdao, 7th national census, 2020): skews district sizes. */
export const DISTRICT_POPULATION: Record<District, number> = {
  shinan: 54.4,
  shibei: 103.9,
  licang: 75.7,
  laoshan: 56.1,
  chengyang: 111.0,
  huangdao: 190.3,
  jimo: 134.1,
  jiaozhou: 100.9,
  pingdu: 120.3,
  laixi: 73.5,
};

/** Hour-of-day categories, `00:00` .. `23:00` (not bare digits: JSON objects would reorder integer-like keys). */
export const HOURS: readonly string[] = Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}:00`);

export const byPopulation = new Weighted<District>(
  DISTRICTS,
  DISTRICTS.map((d) => DISTRICT_POPULATION[d]),
);

/** A weighted draw over `values` from a weight table keyed by value. */
export function weighted<T extends string>(table: Record<T, number>): Weighted<T> {
  const values = Object.keys(table) as T[];
  return new Weighted(
    values,
    values.map((v) => table[v]),
  );
}

/**
 * The first rows walk through every value (so even a few hundred rows populate every group a
 * ratio or mean divides by); later rows are drawn from the realistic distribution.
 */
export function cover<T>(i: number, draw: Weighted<T>, rng: Rng): T {
  return i < draw.values.length ? draw.values[i] : draw.pick(rng);
}

/** As `cover`, over a cross product: row i < Π|lists| gets combination i (first list outermost). */
export function coverCross(i: number, lists: readonly (readonly string[])[]): string[] | undefined {
  const total = lists.reduce((n, l) => n * l.length, 1);
  if (i >= total) return undefined;
  const out: string[] = [];
  let rest = i;
  for (let d = lists.length - 1; d >= 0; d--) {
    out[d] = lists[d][rest % lists[d].length];
    rest = Math.floor(rest / lists[d].length);
  }
  return out;
}

const ID_MODULUS = 1_000_000_000;
const ID_MULTIPLIER = 48271; // coprime with 10^9, so k -> k·m + c (mod 10^9) is a bijection

/**
 * An opaque, unique id for item k: `prefix` + 9 digits of an affine bijection of k modulo 10^9,
 * so ids do not reveal row order yet two roles naming the same entity produce the same id.
 */
export function idFor(prefix: string, k: number): string {
  if (!Number.isSafeInteger(k) || k < 0 || k >= ID_MODULUS) throw new RangeError(`idFor: k must be an integer in [0, 1e9), got ${k}`);
  const scrambled = (k * ID_MULTIPLIER + 104_729) % ID_MODULUS;
  return prefix + String(scrambled).padStart(9, '0');
}

/** Relative hour-of-day profile from 24 weights (index = hour). */
export function hourProfile(weights: readonly number[]): Weighted<string> {
  if (weights.length !== 24) throw new RangeError(`hourProfile: need 24 weights, got ${weights.length}`);
  return new Weighted(HOURS, weights);
}
