/**
 * The connector protocol's documents: every built-in scenario's plan and document pass the schemas a connector
 * checks the broker's job document with, and a malformed one is refused with the JSON path at fault.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type ParamValues, builtinScenarios, compilePlan, defaultParams } from '#scenario';
import { BrokerDocumentError, ConnectorRoute, connectorJobSchema, connectorPath, planSchema, readBrokerDocument } from './connector.js';

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
});
