/**
 * Seeded generators of the catalog: deterministic per seed, rows inside their dataset document's
 * constraints, the default sizes of docs/scenarios.md, realistic shapes, usable default parameters.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ColumnSpec, MetricValue, Row } from '../types.js';
import { validateParams } from '../validate/index.js';
import { evaluateReference } from '../reference/index.js';
import {
  builtinScenario,
  CATALOG_IDS,
  datasetDocumentFor,
  defaultParams,
  defaultRowCounts,
  generateRoleRows,
  generateRoleRowsIter,
} from './index.js';

/** Row counts docs/scenarios.md states (other roles have realistic defaults of the catalog's choosing). */
const STATED_ROWS: Record<string, Record<string, number>> = {
  'water-district-consumption': { utility: 100_000 },
  'water-leak-screening': { utility: 100_000 },
  'drainage-rainfall-response': { weather: 240, drains: 2_000 },
  'ev-charging-demand': { operator1: 25_000, operator2: 25_000, operator3: 25_000 },
  'household-tariff-audit': { grid: 1_200_000, price: 24 },
  'park-carbon-accounting': { enterprises: 500 },
  'waste-free-city-recycling': { facilities: 300 },
  'stroke-length-of-stay': { hospital1: 20_000, hospital2: 20_000, hospital3: 20_000, hospital4: 20_000, hospital5: 20_000 },
  'salary-benchmark': { employees: 50_000 },
  'transit-od-flows': { metro: 1_000_000, bus: 1_000_000 },
  'service-hall-wait-times': { halls: 200_000 },
  'smart-meter-differential-privacy': { utility: 100_000 },
};

/** Roles whose rows do not depend on the seed (a published tariff). */
const SEED_INDEPENDENT = new Set(['household-tariff-audit/price']);

/** Every role of every scenario, with a small row count (valuation needs 50 rows to cover its cells). */
const ROLES = CATALOG_IDS.flatMap((id) => Object.keys(builtinScenario(id).inputs).map((role) => ({ id, role })));

/** Checks one row against a dataset document's columns, as an import would; returns problems. */
function problems(row: Row, columns: Record<string, ColumnSpec>): string[] {
  const out: string[] = [];
  const names = Object.keys(columns);
  if (Object.keys(row).sort().join() !== [...names].sort().join()) out.push(`columns ${Object.keys(row).join()} != ${names.join()}`);
  for (const [name, col] of Object.entries(columns)) {
    const v = row[name];
    if (col.type === 'id' && (typeof v !== 'string' || v.length === 0)) out.push(`${name} not an id`);
    if (col.type === 'category' && (typeof v !== 'string' || !col.values.includes(v))) out.push(`${name}=${String(v)} not a value`);
    if (col.type === 'number' || col.type === 'integer') {
      if (typeof v !== 'number' || !Number.isFinite(v)) out.push(`${name} not a finite number`);
      else {
        if (v < col.min || v > col.max) out.push(`${name}=${v} outside [${col.min}, ${col.max}]`);
        if (col.type === 'integer' && !Number.isInteger(v)) out.push(`${name}=${v} not an integer`);
      }
    }
  }
  return out;
}

function idColumn(columns: Record<string, ColumnSpec>): string {
  const ids = Object.entries(columns).filter(([, c]) => c.type === 'id');
  assert.equal(ids.length, 1, 'every catalog role has exactly one id column');
  return ids[0][0];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describe('defaultRowCounts', () => {
  it('gives every role of every document a default count, as docs/scenarios.md states where it does', () => {
    for (const id of CATALOG_IDS) {
      const counts = defaultRowCounts(id);
      assert.deepEqual(Object.keys(counts), Object.keys(builtinScenario(id).inputs), id);
      for (const n of Object.values(counts)) assert.ok(Number.isSafeInteger(n) && n > 0);
      for (const [role, n] of Object.entries(STATED_ROWS[id] ?? {})) assert.equal(counts[role], n, `${id}/${role}`);
    }
  });
});

describe('generateRoleRows', () => {
  it('produces rows inside their dataset document, with unique ids, for every role', () => {
    for (const { id, role } of ROLES) {
      const n = Math.min(defaultRowCounts(id)[role], 2_000);
      const columns = datasetDocumentFor(id, role).columns;
      const rows = generateRoleRows(id, role, { rows: n, seed: 11 });
      assert.equal(rows.length, n);
      for (const [i, row] of rows.entries()) {
        const p = problems(row, columns);
        assert.deepEqual(p, [], `${id}/${role} row ${i}`);
      }
      const key = idColumn(columns);
      assert.equal(new Set(rows.map((r) => r[key])).size, n, `${id}/${role} ids unique`);
    }
  });

  it('is deterministic per seed, independent of the requested count, and differs across seeds', () => {
    for (const { id, role } of ROLES) {
      const a = generateRoleRows(id, role, { rows: 120, seed: 5 });
      assert.deepEqual(generateRoleRows(id, role, { rows: 120, seed: 5 }), a, `${id}/${role} same seed`);
      assert.deepEqual(generateRoleRows(id, role, { rows: 40, seed: 5 }), a.slice(0, 40), `${id}/${role} prefix`);
      assert.deepEqual([...generateRoleRowsIter(id, role, { rows: 120, seed: 5 })], a, `${id}/${role} iterator`);
      const b = generateRoleRows(id, role, { rows: 120, seed: 6 });
      if (SEED_INDEPENDENT.has(`${id}/${role}`)) assert.deepEqual(b, a);
      else assert.notDeepEqual(b, a, `${id}/${role} seeds 5 and 6 give the same rows`);
    }
  });

  it('checks its arguments precisely', () => {
    assert.throws(() => generateRoleRows('no-such', 'x'), /generateRoleRowsIter: "no-such" is not a built-in scenario id/);
    assert.throws(() => generateRoleRows('sme-credit-score', 'insurer'), /has no role "insurer" \(roles: bank, tax, utility\)/);
    assert.throws(() => generateRoleRows('sme-credit-score', 'bank', { rows: -1 }), /rows must be a non-negative integer, got -1/);
    assert.throws(() => generateRoleRows('sme-credit-score', 'bank', { rows: 1.5 }), /rows must be a non-negative integer/);
    assert.throws(() => generateRoleRows('sme-credit-score', 'bank', { seed: 2 ** 32 }), /seed must be an integer in \[0, 2\^32\)/);
    assert.deepEqual(generateRoleRows('sme-credit-score', 'bank', { rows: 0 }), []);
  });

  it('streams without materialising: the iterator yields lazily', () => {
    const it = generateRoleRowsIter('transit-od-flows', 'metro');
    const first = it.next();
    assert.equal(first.done, false);
    it.return(undefined);
  });
});

describe('realistic data', () => {
  it('water meters: log-normal daily use around 0.4-0.6 m3, skewed district sizes, a few percent leaking', () => {
    const rows = generateRoleRows('water-district-consumption', 'utility', { rows: 20_000, seed: 2 });
    const m3 = rows.map((r) => r.m3 as number);
    const med = median(m3);
    assert.ok(med > 0.35 && med < 0.6, `median ${med}`);
    const mean = m3.reduce((s, x) => s + x, 0) / m3.length;
    assert.ok(mean > med * 1.3, 'right-skewed (commercial accounts)');
    const by = (d: string) => rows.filter((r) => r.district === d).length;
    assert.ok(by('huangdao') > 2.5 * by('shinan'), "huangdao has about 3.5 times shinan's population");
    const leaks = rows.filter((r) => (r.night_flow as number) > 0.05).length / rows.length;
    assert.ok(leaks > 0.02 && leaks < 0.06, `leak share ${leaks}`);
  });

  it('EV sessions follow a diurnal profile (evening peak over the small hours)', () => {
    const rows = generateRoleRows('ev-charging-demand', 'operator1', { rows: 20_000, seed: 2 });
    const at = (h: string) => rows.filter((r) => r.hour === h).length;
    assert.ok(at('20:00') > 4 * at('03:00'), `20:00 ${at('20:00')} vs 03:00 ${at('03:00')}`);
  });

  it('aligned roles share a realistic fraction of ids (PSI scenarios 70-95% of the smaller role)', () => {
    for (const [id, a, b] of [
      ['chronic-elderly-care-demand', 'registry', 'health'],
      ['energy-intensity-by-sector', 'grid', 'stats'],
    ] as const) {
      const key = idColumn(builtinScenario(id).inputs[a].columns);
      const ra = new Set(generateRoleRows(id, a).map((r) => r[key]));
      const rb = generateRoleRows(id, b).map((r) => r[key]);
      const shared = rb.filter((k) => ra.has(k)).length / Math.min(ra.size, rb.length);
      assert.ok(shared >= 0.7 && shared <= 0.95, `${id}: ${shared}`);
    }
  });

  it('health records agree with the registry about the same resident (chronic conditions rise with age)', () => {
    const id = 'chronic-elderly-care-demand';
    const age = new Map(generateRoleRows(id, 'registry', { rows: 8_000 }).map((r) => [r.resident_id, r.age as number]));
    let old = 0,
      oldSick = 0,
      young = 0,
      youngSick = 0;
    for (const r of generateRoleRows(id, 'health', { rows: 6_000 })) {
      const a = age.get(r.resident_id);
      if (a === undefined) continue;
      const sick = (r.chronic_conditions as number) > 0 ? 1 : 0;
      if (a >= 65) {
        old++;
        oldSick += sick;
      } else if (a < 40) {
        young++;
        youngSick += sick;
      }
    }
    assert.ok(oldSick / old > 0.6 && youngSick / young < 0.2, `65+: ${oldSick / old}, under 40: ${youngSick / young}`);
  });
});

describe('defaultParams', () => {
  it('gives every declared parameter a value the validator accepts', () => {
    for (const id of CATALOG_IDS) {
      const s = builtinScenario(id);
      const v = validateParams(s, defaultParams(id));
      assert.ok(v.ok, `${id}: ${v.ok ? '' : JSON.stringify(v.errors)}`);
      assert.deepEqual(Object.keys(defaultParams(id)).sort(), Object.keys(s.params ?? {}).sort());
    }
  });

  it("lists keys mostly present in the providers' rows, and a few absent from every role", () => {
    for (const [id, param] of [
      ['sme-credit-score', 'firms'],
      ['invoice-double-financing', 'invoices'],
      ['crop-yield-estimate', 'plots'],
    ] as const) {
      const s = builtinScenario(id);
      const rows = defaultRowCounts(id);
      const keys = defaultParams(id, rows)[param] as string[];
      assert.equal(new Set(keys).size, keys.length, 'no duplicate keys');
      const held = Object.entries(s.align!.on).map(
        ([role, col]) => new Set(generateRoleRows(id, role, { rows: rows[role] }).map((r) => r[col])),
      );
      const inAll = keys.filter((k) => held.every((h) => h.has(k))).length;
      const inNone = keys.filter((k) => held.every((h) => !h.has(k))).length;
      const inSome = keys.length - inAll - inNone;
      assert.ok(inNone >= 2 && inNone <= 5, `${id}: ${inNone} keys absent everywhere`);
      assert.ok(inAll + inSome >= 100, `${id}: ${inAll + inSome} keys present`);
      if (id === 'sme-credit-score' || id === 'crop-yield-estimate')
        assert.ok(inAll > 0.7 * keys.length, `${id}: ${inAll} of ${keys.length} in all roles`);
    }
  });

  it('lists double-financed invoices for the regulator (financed on two platforms)', () => {
    const id = 'invoice-double-financing';
    const keys = new Set(defaultParams(id).invoices as string[]);
    const count = new Map<string, number>();
    for (const p of ['platform1', 'platform2', 'platform3']) {
      for (const r of generateRoleRows(id, p))
        if (keys.has(r.invoice_id as string)) count.set(r.invoice_id as string, (count.get(r.invoice_id as string) ?? 0) + 1);
    }
    const doubled = [...count.values()].filter((n) => n > 1).length;
    assert.ok(doubled >= 20, `${doubled} double-financed invoices listed`);
  });

  it('refuses a role the scenario does not have', () => {
    assert.throws(
      () => defaultParams('sme-credit-score', { insurer: 10 }),
      /defaultParams: scenario sme-credit-score has no role "insurer"/,
    );
  });
});

function finiteEverywhere(v: MetricValue): boolean {
  if (v === null) return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => x === null || Number.isFinite(x));
  return Object.values(v).every((x) => finiteEverywhere(x));
}

describe('small sizes (a few hundred rows per role) through the plaintext reference', () => {
  for (const id of CATALOG_IDS) {
    it(`${id}: every released value is finite or suppressed`, () => {
      const s = builtinScenario(id);
      const rows: Record<string, Row[]> = {};
      const n: Record<string, number> = {};
      for (const [role, d] of Object.entries(defaultRowCounts(id))) {
        n[role] = Math.min(d, 300);
        rows[role] = generateRoleRows(id, role, { rows: n[role], seed: 9 });
      }
      const r = evaluateReference(s, defaultParams(id, n), rows);
      for (const m of s.metrics) {
        if (m.release === false) continue;
        assert.ok(Object.hasOwn(r.metrics, m.name), `${m.name} released`);
        assert.ok(finiteEverywhere(r.metrics[m.name]), `${m.name}: ${JSON.stringify(r.metrics[m.name]).slice(0, 200)}`);
      }
    });
  }
});

describe('default sizes', { skip: process.env.SLOW === '1' ? false : 'set SLOW=1 (generates every role at its default size)' }, () => {
  it('every role at its default size stays inside its document; the 10^6-row roles stream', () => {
    for (const { id, role } of ROLES) {
      const columns = datasetDocumentFor(id, role).columns;
      let n = 0;
      for (const row of generateRoleRowsIter(id, role)) {
        if (n % 997 === 0) assert.deepEqual(problems(row, columns), [], `${id}/${role} row ${n}`);
        n++;
      }
      assert.equal(n, defaultRowCounts(id)[role]);
    }
  });
});
