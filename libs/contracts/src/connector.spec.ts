/**
 * The connector protocol's documents: every built-in scenario's plan and document pass the schemas a connector
 * checks the broker's job document with, and a malformed one is refused with the JSON path at fault.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ParamValues, builtinScenarios, compilePlan, defaultParams } from '#scenario';
import {
  BrokerDocumentError,
  ConnectorRoute,
  connectorJobSchema,
  connectorPath,
  offerDocumentSchema,
  planSchema,
  progressReportSchema,
  readBrokerDocument,
} from './connector.js';
import { jobParamsSchema } from './job-document.js';

function refusal(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return assert.fail('the document was accepted');
}

const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function jobDocument(id: string): Record<string, unknown> {
  const s = builtinScenarios().find((x) => x.id === id)!;
  const rows = Object.fromEntries(Object.keys(s.inputs).map((r) => [r, 100]));
  const pub: ParamValues = {};
  for (const [k, v] of Object.entries(defaultParams(s.id, rows))) if (!s.params?.[k]?.private) pub[k] = v;
  const c = compilePlan(s, pub, { rowCounts: rows });
  assert.ok(c.ok, JSON.stringify(!c.ok && c.errors));
  return json({
    id: 'job-1',
    consumerId: 'c0ffee00-0000-4000-8000-000000000000',
    purpose: 'public-service',
    status: 'queued',
    scenarioId: s.id,
    scenarioVersion: 1,
    bindings: Object.fromEntries(Object.keys(s.inputs).map((r) => [r, `ds-${r}`])),
    plan: c.plan,
    scenario: s,
    keysetId: 'ks-1',
    countsWithheld: false,
  });
}

describe('connector protocol documents', () => {
  for (const s of builtinScenarios()) {
    it(`${s.id}: the job document (plan and scenario) passes, unchanged`, () => {
      const doc = jobDocument(s.id);
      const job = readBrokerDocument(connectorJobSchema, doc, 'job');
      assert.deepEqual(json(job), doc);
    });
  }

  it('a malformed plan, scenario or field is refused with the JSON path of each problem', () => {
    const doc = jobDocument('water-district-consumption');
    const plan = doc.plan as { roles: Record<string, { features: { width: unknown }[] }>; slots: unknown };
    const role = Object.keys(plan.roles)[0]!;
    plan.roles[role]!.features[0]!.width = 'wide';
    plan.slots = -1;
    (doc.scenario as { metrics: unknown }).metrics = [];
    doc.bindings = { [role]: 'a\u0000b' };
    doc.extra = true;
    const err = refusal(() => readBrokerDocument(connectorJobSchema, doc, 'job'));
    assert.ok(err instanceof BrokerDocumentError);
    assert.equal(err.code, 'MALFORMED_BROKER_DOCUMENT');
    const paths = err.details.map((d) => d.path);
    for (const want of [`$.plan.roles.${role}.features[0].width`, '$.plan.slots', '$.scenario.metrics', `$.bindings.${role}`, '$'])
      assert.ok(paths.includes(want), `${want} in ${paths.join(', ')}`);
    assert.match(err.message, /^the broker's job document is malformed: /);
    assert.doesNotMatch(err.message, /wide/, 'a value is never echoed');
  });

  it('every plan field is checked: an unknown circuit op or decoding kind is refused', () => {
    const plan = jobDocument('water-district-consumption').plan as { circuit: { nodes: { op: string }[] } };
    plan.circuit.nodes[0]!.op = 'exfiltrate';
    assert.equal(planSchema.safeParse(plan).success, false);
  });

  it('route paths fill every parameter, URI-encoded', () => {
    assert.equal(connectorPath('psiSet', { id: 'j/1', role: 'a b', set: 0, keys: 2 }), 'connector/jobs/j%2F1/psi/a%20b/sets/0/2');
    for (const pattern of Object.values(ConnectorRoute)) assert.doesNotMatch(pattern, /^\//);
  });

  it("an offer's columns and usage policy are checked as a dataset document's are (the broker stores them typed)", () => {
    const offer = {
      datasetId: 'ds-1',
      providerId: 'p-1',
      connectorId: 'c-1',
      name: 'meters',
      description: '',
      columns: { meter_id: { type: 'id' }, m3: { type: 'number', min: 0, max: 50 } },
      policy: {
        consumers: ['*'],
        purposes: ['public-service'],
        aggregations: ['count', 'sum'],
        rowLevel: false,
        minGroupSize: 5,
        epsilonBudget: null,
        expiresAt: null,
      },
      rowCount: 10,
    };
    assert.equal(offerDocumentSchema.safeParse(offer).success, true);
    const paths = (doc: unknown): string[] => {
      const r = offerDocumentSchema.safeParse(doc);
      assert.equal(r.success, false);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    assert.deepEqual(paths({ ...offer, policy: { ...offer.policy, aggregations: ['median'] } }), ['policy.aggregations.0']);
    assert.ok(paths({ ...offer, policy: { consumers: ['*'] } }).includes('policy.aggregations'));
    assert.ok(paths({ ...offer, columns: { m3: { type: 'number', min: 5, max: 1 } } }).length > 0);
    assert.ok(paths({ ...offer, columns: { m3: { type: 'blob' } } })[0]?.startsWith('columns.m3'));
  });

  it('a progress report holds a step and counts only: another field, a text count or a negative one is refused', () => {
    assert.equal(progressReportSchema.safeParse({ progress: { status: 'encrypting', rows: 12 } }).success, true);
    for (const progress of [
      { status: 'encrypting', note: 'the first row is 17.5' },
      { status: 'encrypting', rows: '12' },
      { status: 'encrypting', rows: -1 },
      { status: 'encrypting', bytes: 1.5 },
      { rows: 3 },
      { status: 'x'.repeat(41) },
    ])
      assert.equal(progressReportSchema.safeParse({ progress }).success, false, JSON.stringify(progress));
  });

  it("a job's public parameters are numbers, categories or lists of them; anything else is refused with its path", () => {
    assert.equal(jobParamsSchema.safeParse({ t: 3, c: 'north', w: [0.5, 1], ids: ['a', 'b'] }).success, true);
    for (const [params, path] of [
      [{ t: { $gt: 1 } }, 't'],
      [{ t: null }, 't'],
      [{ t: true }, 't'],
      [{ w: [1, 'a'] }, 'w'],
    ] as const) {
      const r = jobParamsSchema.safeParse(params);
      assert.equal(r.success, false);
      assert.equal(r.success ? '' : String(r.error.issues[0]!.path[0]), path);
    }
  });
});
