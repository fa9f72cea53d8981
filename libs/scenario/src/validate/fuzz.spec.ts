/**
 * Fuzz: thousands of random, mutated and generated documents. validateScenario must never
 * throw; what it accepts must match the published schema and must evaluate on random rows.
 * Seeded (mulberry32) so a failure reproduces; `SLOW=1` runs ten times as many.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateScenario } from './scenario.js';
import { validateParams } from './params.js';
import { describeMetric } from './model.js';
import { validExamples } from './examples.fixture.js';
import { scenarioDocumentSchema } from '../schema/index.js';
import { evaluateReference } from '../reference/index.js';
import type { ParamValues, Row, Scenario } from '../types.js';

const SCALE = process.env.SLOW === '1' ? 10 : 1;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const WORDS = [
  'id',
  'title',
  'inputs',
  'columns',
  'type',
  'min',
  'max',
  'values',
  'params',
  'metrics',
  'name',
  'agg',
  'of',
  'role',
  'by',
  'where',
  'bins',
  'weights',
  'bias',
  'release',
  'align',
  'on',
  'keys',
  'minGroupSize',
  'noise',
  'rowLevel',
  'private',
  'default',
  'mechanism',
  'epsilon',
  'eq',
  'ne',
  'gt',
  'ge',
  'lt',
  'le',
  'in',
  'and',
  'or',
  'not',
  'number',
  'integer',
  'category',
  'id-list',
  'number-list',
  'sum',
  'count',
  'mean',
  'variance',
  'stddev',
  'histogram',
  'sumProduct',
  'weightedSum',
  'correlation',
  'dot',
  'ratio',
  'difference',
  'utility',
  'utility.m3',
  'utility.district',
  'utility.meter_id',
  'op1.kwh',
  'op2.district',
  '$params.x',
  '$params.tariff',
  'laplace',
  'shinan',
  'a|b',
  '',
  '__proto__',
  'constructor',
  'x',
  'total_m3',
  'rain',
  'level',
];

/** Own-property write, as JSON.parse does (`o["__proto__"] = v` would set the prototype instead). */
function put(o: { [k: string]: Json }, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.rnd() < p;
  }
  number(): number {
    return this.pick([0, 1, -1, 0.5, 2, 5, 50, 100, 1e9, -1e-9, 3.25, Number.MAX_SAFE_INTEGER, 7]);
  }
  json(depth: number): Json {
    const k = this.int(depth <= 0 ? 4 : 7);
    if (k === 0) return this.pick([null, true, false]);
    if (k === 1) return this.number();
    if (k === 2 || k === 3) return this.pick(WORDS);
    if (k === 4 || k === 5) return Array.from({ length: this.int(4) }, () => this.json(depth - 1));
    const o: { [k: string]: Json } = {};
    for (let i = this.int(5); i > 0; i--) put(o, this.pick(WORDS), this.json(depth - 1));
    return o;
  }
}

/** Every container node of a document with its parent key, for mutation. */
function nodes(doc: Json): Json[] {
  const out: Json[] = [];
  const walk = (v: Json) => {
    if (v && typeof v === 'object') {
      out.push(v);
      for (const c of Object.values(v)) walk(c);
    }
  };
  walk(doc);
  return out;
}

function mutate(g: Gen, doc: Json): void {
  const all = nodes(doc);
  const target = g.pick(all);
  if (!target || typeof target !== 'object') return;
  const keys = Object.keys(target);
  const op = g.int(7);
  if (Array.isArray(target)) {
    if (op === 0 && target.length > 0) target.splice(g.int(target.length), 1);
    else if (op === 1 && target.length > 0) target.push(structuredClone(target[g.int(target.length)]));
    else if (op === 2 && target.length > 1) target.reverse();
    else if (keys.length > 0) target[g.int(target.length)] = op === 3 ? structuredClone(g.pick(all)) : g.json(2);
    else target.push(g.json(2));
    return;
  }
  const obj = target as { [k: string]: Json };
  if (op === 0 && keys.length > 0) delete obj[g.pick(keys)];
  else if (op === 1) put(obj, g.pick(WORDS), g.json(2));
  else if (op === 2 && keys.length > 0) obj[g.pick(keys)] = g.pick(WORDS);
  else if (op === 3 && keys.length > 0) obj[g.pick(keys)] = g.number();
  else if (op === 4 && keys.length > 0) obj[g.pick(keys)] = structuredClone(g.pick(all));
  else if (op === 5 && keys.length > 1) {
    const [a, b] = [g.pick(keys), g.pick(keys)];
    [obj[a], obj[b]] = [obj[b], obj[a]];
  } else if (keys.length > 0) obj[g.pick(keys)] = g.json(3);
}

/** A plausible scenario built from valid parts, often with a wrong part or two. */
function generated(g: Gen): Json {
  const roleNames = ['r1', 'r2', 'r3'].slice(0, 1 + g.int(3));
  const cats = [['a', 'b'], ['u', 'v', 'w'], ['x']];
  const shared = g.pick(cats);
  const inputs: { [k: string]: Json } = {};
  const values = new Map<string, string[]>();
  const numeric = new Map<string, string[]>();
  for (const r of roleNames) {
    const columns: { [k: string]: Json } = { key: { type: 'id' } };
    const vals = g.chance(0.85) ? shared : g.pick(cats);
    columns.g = { type: 'category', values: vals };
    values.set(`${r}.g`, vals);
    columns.x = g.chance(0.5) ? { type: 'number', min: 0, max: 10 } : { type: 'integer', min: -3, max: 3 };
    if (g.chance(0.5)) columns.y = { type: 'number', min: -1, max: 1 };
    numeric.set(
      r,
      Object.keys(columns)
        .filter((c) => c === 'x' || c === 'y')
        .map((c) => `${r}.${c}`),
    );
    inputs[r] = { columns };
  }
  const aligned = roleNames.length > 1 && g.chance(0.5);
  const withKeys = aligned && g.chance(0.5);
  const metrics: Json[] = [];
  const kinds: string[] = [];
  for (let i = 0; i < 1 + g.int(5); i++) {
    const agg = g.pick([
      'count',
      'sum',
      'mean',
      'variance',
      'stddev',
      'histogram',
      'sumProduct',
      'weightedSum',
      'ratio',
      'difference',
      'dot',
      'correlation',
    ]);
    // refs mostly into the metric's own role; into another role mostly when aligned
    const own = g.pick(roleNames);
    const other = () => (aligned || g.chance(0.05) ? g.pick(roleNames) : own);
    const num = (r = own) => (g.chance(0.95) ? g.pick(numeric.get(r) as string[]) : `${r}.${g.pick(['g', 'key', 'z'])}`);
    const cat = (r = own) => (g.chance(0.95) ? `${r}.g` : `${r}.x`);
    const lit = (ref: string) => g.pick(values.get(ref) ?? ['a']);
    const where = (d: number): Json => {
      const k = g.int(d > 0 ? 6 : 3);
      if (k === 0) return { [g.pick(['gt', 'ge', 'lt', 'le', 'eq', 'ne'])]: [num(other()), g.pick([0, 1, 2.5, -1])] };
      const c = cat(other());
      if (k === 1) return { [g.pick(['eq', 'ne'])]: [c, lit(c)] };
      if (k === 2) return { in: [c, [lit(c), lit(c)]] };
      if (k === 3) return { not: where(d - 1) };
      return { [g.pick(['and', 'or'])]: [where(d - 1), where(d - 1)] };
    };
    const m: { [k: string]: Json } = { name: `m${i}`, agg };
    const multi = g.chance(0.3) ? roleNames : [own];
    if (agg === 'count') m.role = multi.length > 1 ? multi : own;
    else if (agg === 'sumProduct') m.of = [num(), num(g.chance(0.7) ? own : other())];
    else if (agg === 'weightedSum') {
      m.of = [num(), num(other())];
      m.weights = g.chance(0.5) ? [1, -0.5] : '$params.w';
      if (g.chance(0.5)) m.bias = g.chance(0.5) ? 2 : '$params.b';
    } else if (['ratio', 'difference', 'dot', 'correlation'].includes(agg)) {
      const scalar = kinds.map((k, j) => (k === 'histogram' || k === 'weightedSum' ? -1 : j)).filter((j) => j >= 0);
      if (scalar.length === 0) continue;
      const a = g.pick(scalar);
      m.of = [`m${a}`, agg === 'dot' && g.chance(0.5) ? '$params.v' : `m${g.chance(0.7) ? g.pick(scalar) : a}`];
    } else m.of = multi.length > 1 ? multi.map((r) => num(r)) : num();
    if (agg === 'histogram') m.bins = g.chance(0.95) ? [0, 1, 5, 10] : [0, 5, 1];
    if (!['weightedSum', 'ratio', 'difference', 'dot', 'correlation'].includes(agg)) {
      if (g.chance(0.5)) m.where = where(2);
      if (g.chance(0.7)) m.by = g.chance(0.7) ? cat(other()) : [cat(), cat(other())];
    }
    if (g.chance(0.2)) m.release = false;
    metrics.push(m);
    kinds.push(agg);
  }
  const doc: { [k: string]: Json } = { id: 'gen', title: 'generated', inputs, metrics };
  doc.params = {
    w: { type: 'number-list', private: g.chance(0.5) },
    v: { type: 'number-list' },
    keys: { type: 'id-list' },
    b: { type: 'number' },
  };
  if (aligned) doc.align = { on: Object.fromEntries(roleNames.map((r) => [r, 'key'])), ...(withKeys ? { keys: '$params.keys' } : {}) };
  doc.release = { rowLevel: g.chance(0.9), ...(g.chance(0.5) ? { minGroupSize: 1 + g.int(3) } : {}) };
  return doc;
}

function paramsFor(g: Gen, s: Scenario): ParamValues {
  const lengths = new Map<string, number>();
  for (const m of s.metrics) {
    if (m.agg === 'weightedSum' && typeof m.weights === 'string') lengths.set(m.weights.slice(8), m.of.length);
    if (m.agg === 'dot' && m.of[1].startsWith('$params.')) lengths.set(m.of[1].slice(8), describeMetric(s, m.of[0]).groups.length);
  }
  const out: ParamValues = {};
  for (const [name, spec] of Object.entries(s.params ?? {})) {
    if (spec.type === 'number') out[name] = g.number();
    else if (spec.type === 'number-list') out[name] = Array.from({ length: lengths.get(name) ?? 3 }, () => g.pick([0, 1, -2, 0.5]));
    else if (spec.type === 'id-list') out[name] = ['k0', 'k1', 'k2', 'k3', 'k4', 'k9'].filter(() => g.chance(0.6)).concat('k5');
    else out[name] = g.pick(spec.values ?? ['a']);
  }
  return out;
}

function rowsFor(g: Gen, s: Scenario): Record<string, Row[]> {
  const out: Record<string, Row[]> = {};
  for (const [role, input] of Object.entries(s.inputs)) {
    const ids = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'].filter(() => g.chance(0.7));
    out[role] = ids.slice(0, g.int(ids.length + 1)).map((id) => {
      const row: Row = {};
      for (const [c, spec] of Object.entries(input.columns)) {
        if (spec.type === 'id') row[c] = id;
        else if (spec.type === 'category') row[c] = g.chance(0.95) ? g.pick(spec.values) : 'zz';
        else if (spec.type === 'integer') row[c] = spec.min - 1 + g.int(spec.max - spec.min + 3);
        else row[c] = spec.min - 1 + g.rnd() * (spec.max - spec.min + 2);
      }
      return row;
    });
  }
  return out;
}

function checkOne(g: Gen, doc: unknown, stats: { valid: number; evaluated: number }): void {
  let r: ReturnType<typeof validateScenario>;
  try {
    r = validateScenario(doc);
  } catch (e) {
    assert.fail(`validateScenario threw on ${JSON.stringify(doc)}: ${String(e)}`);
  }
  if (!r.ok) {
    assert.ok(r.errors.length > 0);
    for (const e of r.errors) {
      assert.ok(typeof e.path === 'string' && typeof e.code === 'string' && e.message.length > 0);
      // Every fuzzed document is plain JSON: 'internal' would mean a check threw.
      assert.notEqual(e.code, 'internal', `a check threw on ${JSON.stringify(doc)}`);
    }
    return;
  }
  stats.valid++;
  const parsed = scenarioDocumentSchema.safeParse(doc);
  assert.ok(
    parsed.success,
    `accepted but not matching the published schema: ${JSON.stringify(doc)} ${JSON.stringify(parsed.error?.issues)}`,
  );
  const params = paramsFor(g, r.scenario);
  const pv = validateParams(r.scenario, params);
  assert.ok(pv.ok, `generated params refused: ${JSON.stringify(pv)} for ${JSON.stringify(doc)}`);
  const rows = rowsFor(g, r.scenario);
  let out: ReturnType<typeof evaluateReference>;
  try {
    out = evaluateReference(r.scenario, params, rows);
  } catch (e) {
    assert.fail(`evaluateReference threw on a valid scenario ${JSON.stringify(doc)} rows ${JSON.stringify(rows)}: ${String(e)}`);
  }
  for (const m of r.scenario.metrics) assert.equal(Object.hasOwn(out.metrics, m.name), m.release !== false);
  stats.evaluated++;
}

test(`fuzz: ${3000 * SCALE} random JSON documents never make validation throw`, (t) => {
  const g = new Gen(mulberry32(1));
  const stats = { valid: 0, evaluated: 0 };
  for (let i = 0; i < 3000 * SCALE; i++) {
    const doc = g.chance(0.5) ? g.json(5) : { id: 'x', title: 't', inputs: g.json(3), metrics: g.json(3), ...(g.json(2) as object) };
    checkOne(g, doc, stats);
  }
  t.diagnostic(`valid ${stats.valid}, evaluated ${stats.evaluated}`);
});

test(`fuzz: ${3000 * SCALE} mutations of valid documents`, (t) => {
  const g = new Gen(mulberry32(2));
  const bases = Object.values(validExamples) as Json[];
  const stats = { valid: 0, evaluated: 0 };
  for (let i = 0; i < 3000 * SCALE; i++) {
    const doc = structuredClone(g.pick(bases));
    for (let k = 1 + g.int(3); k > 0; k--) mutate(g, doc);
    checkOne(g, doc, stats);
  }
  t.diagnostic(`valid ${stats.valid}, evaluated ${stats.evaluated}`);
  // Mutations that keep a document valid (swapping, reordering) must evaluate too.
  assert.ok(stats.valid > 50, `only ${stats.valid} mutated documents stayed valid`);
});

test(`fuzz: ${2000 * SCALE} generated scenarios; every valid one evaluates on random rows`, (t) => {
  const g = new Gen(mulberry32(3));
  const stats = { valid: 0, evaluated: 0 };
  for (let i = 0; i < 2000 * SCALE; i++) {
    const doc = generated(g);
    if (g.chance(0.3)) mutate(g, doc);
    checkOne(g, doc, stats);
  }
  t.diagnostic(`valid ${stats.valid}, evaluated ${stats.evaluated}`);
  assert.equal(stats.evaluated, stats.valid);
  assert.ok(stats.valid > 300, `only ${stats.valid} generated documents were valid`);
});
