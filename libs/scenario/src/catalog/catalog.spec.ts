/**
 * The built-in catalog documents (docs/scenarios.md): 33 ids in order, each a valid
 * document of the public format, together exercising every feature the catalog promises.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Agg, Scenario, WhereExpr } from '../types.js';
import { describeMetric, validateScenario } from '../validate/index.js';
import {
  builtinScenario,
  builtinScenarios,
  CATALOG_DIR,
  CATALOG_IDS,
  catalogPurpose,
  datasetDocumentFor,
  defaultRowCounts,
} from './index.js';

/** The table of docs/scenarios.md, copied by hand: the catalog must not drift from it. */
const EXPECTED_IDS = [
  'water-district-consumption',
  'water-leak-screening',
  'drainage-rainfall-response',
  'ev-charging-demand',
  'ev-grid-load-coupling',
  'microgrid-renewable-balance',
  'household-tariff-audit',
  'park-carbon-accounting',
  'waste-free-city-recycling',
  'stroke-length-of-stay',
  'disease-incidence-by-age',
  'chronic-elderly-care-demand',
  'insurance-cost-ratio',
  'childcare-capacity-gap',
  'salary-benchmark',
  'graduate-job-match',
  'school-teacher-ratio',
  'housing-affordability',
  'transit-od-flows',
  'tourism-spend-per-visitor',
  'parking-occupancy',
  'sme-credit-score',
  'invoice-double-financing',
  'retail-consumption-index',
  'industrial-capacity-utilization',
  'energy-intensity-by-sector',
  'crop-yield-estimate',
  'service-hall-wait-times',
  'drone-inspection-findings',
  'fishery-catch-vs-temperature',
  'emergency-response-coverage',
  'land-parcel-valuation',
  'smart-meter-differential-privacy',
];

const QINGDAO = ['shinan', 'shibei', 'licang', 'laoshan', 'chengyang', 'huangdao', 'jimo', 'jiaozhou', 'pingdu', 'laixi'];

/** "×N" providers of docs/scenarios.md bound as N roles (plus the other providers named there). */
const EXPECTED_ROLES: Record<string, string[]> = {
  'ev-charging-demand': ['operator1', 'operator2', 'operator3'],
  'ev-grid-load-coupling': ['operator1', 'operator2', 'grid'],
  'stroke-length-of-stay': ['hospital1', 'hospital2', 'hospital3', 'hospital4', 'hospital5'],
  'disease-incidence-by-age': ['hospital1', 'hospital2', 'hospital3', 'registry'],
  'insurance-cost-ratio': ['insurer', 'hospital1', 'hospital2'],
  'graduate-job-match': ['university1', 'university2', 'university3', 'platform'],
  'tourism-spend-per-visitor': ['bank1', 'bank2', 'telecom'],
  'parking-occupancy': ['operator1', 'operator2', 'operator3'],
  'sme-credit-score': ['bank', 'tax', 'utility'],
  'invoice-double-financing': ['platform1', 'platform2', 'platform3', 'tax'],
  'retail-consumption-index': ['processor1', 'processor2'],
  'industrial-capacity-utilization': ['platform1', 'platform2'],
  'drone-inspection-findings': ['contractor1', 'contractor2'],
  'chronic-elderly-care-demand': ['registry', 'health'],
  'energy-intensity-by-sector': ['grid', 'stats'],
  'crop-yield-estimate': ['met', 'coop'],
};

const docs = builtinScenarios();

function whereOps(e: WhereExpr | undefined, out: Set<string>): Set<string> {
  if (!e) return out;
  for (const [op, arg] of Object.entries(e)) {
    out.add(op);
    if (op === 'and' || op === 'or') (arg as WhereExpr[]).forEach((x) => whereOps(x, out));
    if (op === 'not') whereOps(arg as WhereExpr, out);
  }
  return out;
}

function* whereRefsDeep(e: WhereExpr): Generator<string> {
  for (const [op, arg] of Object.entries(e)) {
    if (op === 'and' || op === 'or') for (const x of arg as WhereExpr[]) yield* whereRefsDeep(x);
    else if (op === 'not') yield* whereRefsDeep(arg as WhereExpr);
    else yield (arg as [string, unknown])[0];
  }
}
const roleOf = (ref: string) => ref.slice(0, ref.indexOf('.'));

describe('built-in catalog documents', () => {
  it('holds the 33 ids of docs/scenarios.md, in order, unique', () => {
    assert.deepEqual([...CATALOG_IDS], EXPECTED_IDS);
    assert.deepEqual(
      docs.map((d) => d.id),
      EXPECTED_IDS,
    );
    assert.equal(new Set(docs.map((d) => d.id)).size, 33);
  });

  it('matches the ids of the table in docs/scenarios.md, in order', () => {
    const file = new URL('../../../../../docs/scenarios.md', import.meta.url);
    const rows = [...readFileSync(file, 'utf8').matchAll(/^\| (\d+) \| \[([a-z0-9-]+)\]\(#([a-z0-9-]+)\) \|/gm)];
    assert.deepEqual(
      rows.map((m) => m[2]),
      EXPECTED_IDS,
    );
    assert.deepEqual(
      rows.map((m) => Number(m[1])),
      EXPECTED_IDS.map((_, i) => i + 1),
    );
    for (const m of rows) assert.equal(m[3], m[2], `the table links ${m[2]} to its own section`);
  });

  it('keeps one JSON file per id in the catalog folder (the loader reads the source folder after tsc)', () => {
    assert.ok(existsSync(CATALOG_DIR), `${CATALOG_DIR.pathname} must exist`);
    const files = readdirSync(CATALOG_DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(
      files,
      [...EXPECTED_IDS].sort().map((id) => `${id}.json`),
    );
    for (const id of EXPECTED_IDS) {
      const raw: unknown = JSON.parse(readFileSync(new URL(`${id}.json`, CATALOG_DIR), 'utf8'));
      assert.equal((raw as Scenario).id, id);
      assert.equal(
        (raw as { $schema?: string }).$schema,
        '../../../../../schemas/scenario.schema.json',
        `${id}.json names the JSON Schema`,
      );
      assert.ok(!('$schema' in builtinScenario(id)), 'the loaded document does not keep the editor hint');
    }
  });

  for (const d of docs) {
    it(`${d.id} validates as a public scenario document`, () => {
      const v = validateScenario(JSON.parse(readFileSync(new URL(`${d.id}.json`, CATALOG_DIR), 'utf8')));
      assert.ok(v.ok, v.ok ? '' : JSON.stringify(v.errors, null, 1));
    });
  }

  it("uses Qingdao's ten districts wherever a district column appears, and bounded number columns", () => {
    for (const d of docs) {
      for (const [role, input] of Object.entries(d.inputs)) {
        for (const [name, col] of Object.entries(input.columns)) {
          const where = `${d.id} ${role}.${name}`;
          if (name === 'district') assert.deepEqual(col.type === 'category' ? col.values : null, QINGDAO, where);
          if (col.type === 'number' || col.type === 'integer') {
            assert.ok(Number.isFinite(col.min) && Number.isFinite(col.max) && col.min < col.max, `${where} bounds`);
          }
          assert.ok(col.description, `${where} describes its unit or meaning`);
        }
        assert.ok(input.description, `${d.id} ${role} says who provides it`);
      }
    }
  });

  it('binds every "×N" provider as N roles', () => {
    for (const [id, roles] of Object.entries(EXPECTED_ROLES)) {
      assert.deepEqual(Object.keys(builtinScenario(id).inputs), roles, id);
    }
  });

  it('keeps group counts modest (at most 400 groups per metric)', () => {
    for (const d of docs) {
      for (const m of d.metrics) {
        const groups = describeMetric(d, m.name).groups.length;
        assert.ok(groups <= 400, `${d.id}.${m.name} has ${groups} groups`);
      }
    }
  });

  it('together exercises every feature the catalog promises (docs/scenarios.md, last paragraph)', () => {
    const aggs = new Set<Agg>();
    const ops = new Set<string>();
    const seen = {
      crossProduct: false,
      whereAcrossAligned: false,
      byAcrossAligned: false,
      multiRoleCount: false,
      multiRoleOf: false,
      crossProviderCorrelation: false,
      dotWithParam: false,
      dotOfMetrics: false,
      alignKeys: false,
      alignPsi: false,
      privateParam: false,
      internal: false,
      rowLevel: false,
      suppression: false,
      noise: false,
      crossRoleSumProduct: false,
    };
    for (const d of docs) {
      const aligned = new Set(Object.keys(d.align?.on ?? {}));
      if (d.align?.keys) seen.alignKeys = true;
      if (d.align && !d.align.keys) seen.alignPsi = true;
      if (Object.values(d.params ?? {}).some((p) => p.private)) seen.privateParam = true;
      if (d.release?.rowLevel) seen.rowLevel = true;
      if ((d.release?.minGroupSize ?? 0) > 1) seen.suppression = true;
      if (d.release?.noise?.mechanism === 'laplace') seen.noise = true;
      for (const m of d.metrics) {
        aggs.add(m.agg);
        if (m.release === false) seen.internal = true;
        if ('where' in m) whereOps(m.where, ops);
        if ('by' in m && Array.isArray(m.by) && m.by.length > 1) seen.crossProduct = true;
        if (m.agg === 'count' && Array.isArray(m.role) && m.role.length > 1) seen.multiRoleCount = true;
        if ('of' in m && m.agg !== 'sumProduct' && m.agg !== 'weightedSum' && Array.isArray(m.of) && m.of.every((r) => r.includes('.'))) {
          if (new Set(m.of.map(roleOf)).size > 1) seen.multiRoleOf = true;
        }
        if (m.agg === 'sumProduct' && new Set(m.of.map(roleOf)).size > 1) seen.crossRoleSumProduct = true;
        if (m.agg === 'dot') {
          if (m.of[1].startsWith('$params.')) seen.dotWithParam = true;
          else seen.dotOfMetrics = true;
        }
        if (m.agg === 'correlation') {
          const roles = m.of.map((n) => describeMetric(d, n).roles.join(','));
          if (roles[0] !== roles[1]) seen.crossProviderCorrelation = true;
        }
        if (m.agg !== 'correlation' && m.agg !== 'dot' && m.agg !== 'ratio' && m.agg !== 'difference' && aligned.size > 1) {
          const own = m.agg === 'count' ? [m.role].flat() : [m.of].flat().map(roleOf);
          const other = (ref: string) => aligned.has(roleOf(ref)) && !own.includes(roleOf(ref));
          if ('where' in m && m.where && [...whereRefsDeep(m.where)].some(other)) seen.whereAcrossAligned = true;
          if ('by' in m && m.by && [m.by].flat().some(other)) seen.byAcrossAligned = true;
        }
      }
    }
    assert.deepEqual([...aggs].sort(), [
      'correlation',
      'count',
      'difference',
      'dot',
      'histogram',
      'mean',
      'ratio',
      'stddev',
      'sum',
      'sumProduct',
      'variance',
      'weightedSum',
    ]);
    assert.deepEqual([...ops].sort(), ['and', 'eq', 'ge', 'gt', 'in', 'le', 'lt', 'ne', 'not', 'or']);
    for (const [feature, ok] of Object.entries(seen)) assert.ok(ok, `no catalog scenario exercises ${feature}`);
  });

  it('is described in docs/scenarios.md: one section per id naming every metric and default row count', () => {
    const file = new URL('../../../../../docs/scenarios.md', import.meta.url);
    const text = readFileSync(file, 'utf8');
    const sections = text.split(/^## /m).slice(1);
    assert.deepEqual(
      sections.map((x) => x.slice(0, x.indexOf('\n'))),
      EXPECTED_IDS,
    );
    for (const [i, d] of docs.entries()) {
      for (const m of d.metrics) assert.ok(sections[i].includes(`\`${m.name}\``), `${d.id}: docs name ${m.name}`);
      for (const [role, n] of Object.entries(defaultRowCounts(d.id))) {
        assert.ok(
          sections[i].includes(`\`${role}\` (${n.toLocaleString('en-US')} rows by default)`),
          `${d.id}: docs give ${role}'s ${n} rows`,
        );
      }
    }
  });

  it('returns fresh copies: changing one does not change the catalog', () => {
    const a = builtinScenario('water-district-consumption');
    a.title = 'changed';
    a.metrics.length = 0;
    const b = builtinScenario('water-district-consumption');
    assert.equal(b.title, 'District water consumption from smart meters');
    assert.equal(b.metrics.length, 4);
  });

  it('refuses an unknown id with a precise message', () => {
    assert.throws(() => builtinScenario('water-district'), /builtinScenario: "water-district" is not a built-in scenario id/);
  });
});

describe('catalog dataset documents and purposes', () => {
  it('give each role its input columns and a policy allowing exactly what the scenario needs', () => {
    for (const d of docs) {
      const aggs = new Set(d.metrics.map((m) => m.agg));
      for (const role of Object.keys(d.inputs)) {
        const doc = datasetDocumentFor(d.id, role);
        assert.deepEqual(doc.columns, d.inputs[role].columns, `${d.id}/${role} columns`);
        assert.deepEqual(doc.policy.consumers, ['*']);
        assert.deepEqual(doc.policy.purposes, [catalogPurpose(d.id)]);
        assert.deepEqual(new Set(doc.policy.aggregations), aggs, `${d.id}/${role} aggregations`);
        assert.equal(doc.policy.aggregations.length, aggs.size, 'no duplicate aggregations');
        assert.equal(doc.policy.rowLevel, d.release?.rowLevel === true);
        assert.ok(doc.policy.minGroupSize >= 1 && doc.policy.minGroupSize <= (d.release?.minGroupSize ?? 1), `${d.id} minGroupSize`);
        assert.ok(doc.name.length > 0 && doc.name.length <= 200);
        assert.equal(doc.policy.expiresAt, null);
        assert.ok(d.release?.noise ? (doc.policy.epsilonBudget ?? 0) >= d.release.noise.epsilon : true);
      }
    }
  });

  it('validate as dataset documents of the dataset lib, when it is built', async (t) => {
    const specifier = '#dataset';
    let mod: { validateDatasetDocument?: (doc: unknown) => { ok: boolean; errors?: unknown } };
    try {
      mod = (await import(specifier)) as typeof mod;
    } catch {
      t.skip('#dataset is not built');
      return;
    }
    const validate = mod.validateDatasetDocument;
    assert.equal(typeof validate, 'function');
    for (const d of docs) {
      for (const role of Object.keys(d.inputs)) {
        const r = validate!(datasetDocumentFor(d.id, role));
        assert.ok(r.ok, `${d.id}/${role}: ${JSON.stringify(r.errors)}`);
      }
    }
  });

  it('name a consent or supervision purpose for row-level scenarios, public service otherwise', () => {
    for (const d of docs) {
      const p = catalogPurpose(d.id);
      if (d.release?.rowLevel) assert.notEqual(p, 'public-service', d.id);
      else assert.equal(p, 'public-service', d.id);
    }
    assert.equal(catalogPurpose('sme-credit-score'), 'consent-credit');
  });

  it('refuse an unknown role with the roles it has', () => {
    assert.throws(() => datasetDocumentFor('sme-credit-score', 'insurer'), /has no role "insurer" \(roles: bank, tax, utility\)/);
  });
});
