import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob, ApiError } from '#sdk';
import { builtinScenario, datasetDocumentFor, evaluateReference, generateRoleRows, type Row, type Scenario } from '#scenario';
import { call, startTestServer, testConfig } from './support/env.js';
import { JobCiphertextEntity, JobEntity } from '#persistence';
import { ConnectorGateway } from '../apps/broker/src/connector/connector-gateway.service.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

describe('jobs: the path of one job, end to end (real Redis, real database, real CKKS)', () => {
  let s: Server;
  let dir: string;
  let provider: string;
  let consumer: string;
  let datasetId: string;
  let rows: Row[];
  const scenario = builtinScenario('water-district-consumption');

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-jobs-'));
    provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'utility' } })).body
      .token;
    consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'planning' } })).body
      .token;
    const doc = datasetDocumentFor('water-district-consumption', 'utility');
    const reg = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    datasetId = reg.body.id;
    rows = generateRoleRows('water-district-consumption', 'utility', { rows: 600, seed: 7 });
    const imp = await call(s.url, 'POST', `/datasets/${datasetId}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    assert.equal(imp.body.rows, 600);
    await generateKeyFile(join(dir, 'c.keys'), keyRequirements(scenario));
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('water-district-consumption: the decrypted result equals the plaintext answer', async () => {
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const keys = readKeyFile(join(dir, 'c.keys'));
    const sub = await submitJob(client, keys, scenario, {
      scenario: scenario.id,
      bindings: { utility: datasetId },
      purpose: 'public-service',
    });
    const st = await waitForJob(client, String(sub.id), undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const doc = await fetchResult(client, String(sub.id), keys);
    const ref = evaluateReference(scenario, {}, { utility: rows });
    assert.deepEqual(Object.keys(doc.metrics).sort(), Object.keys(ref.metrics).sort());
    for (const [name, groups] of Object.entries(ref.metrics)) {
      for (const [g, want] of Object.entries(groups as Record<string, number | null>)) {
        const got = (doc.metrics[name] as Record<string, number | null>)[g];
        if (want === null) assert.equal(got, null, `${name}.${g}`);
        else if (name === 'meters' || name === 'leaks') assert.equal(got, want, `${name}.${g}`);
        else assert.ok(Math.abs((got as number) - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${name}.${g}: ${got} vs ${want}`);
      }
    }
    assert.deepEqual(doc.meta.suppressed, ref.meta.suppressed);
  });

  it('an Idempotency-Key returns the same job', async () => {
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const keys = readKeyFile(join(dir, 'c.keys'));
    const req = { scenario: scenario.id, bindings: { utility: datasetId }, purpose: 'public-service', idempotencyKey: 'once-only-1' };
    const a = await submitJob(client, keys, scenario, req);
    const b = await submitJob(client, keys, scenario, req);
    assert.equal(a.id, b.id);
  });

  it('bad submissions get a 4xx with a code and nothing is queued', async () => {
    const before = (await s.dataSource.query('SELECT COUNT(*) AS n FROM jobs'))[0].n;
    const keys = readKeyFile(join(dir, 'c.keys'));
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const keyset = (
      await client.postRaw<{ id: string }>('keysets', (await import('#sdk')).publicKeysetBytes(keys), 'application/octet-stream')
    ).id;
    const base = { scenario: scenario.id, bindings: { utility: datasetId }, keyset, purpose: 'public-service' };
    const cases: [unknown, number, string][] = [
      [{ ...base, extra: 1 }, 400, 'VALIDATION_FAILED'],
      [{ ...base, scenario: 'no-such-scenario' }, 404, 'UNKNOWN_SCENARIO'],
      [{ ...base, bindings: {} }, 400, 'VALIDATION_FAILED'],
      [{ ...base, bindings: { utility: 'missing-dataset' } }, 404, 'NOT_FOUND'],
      [{ ...base, keyset: 'zz' }, 400, 'VALIDATION_FAILED'],
      [{ ...base, keyset: 'a'.repeat(64) }, 404, 'NOT_FOUND'],
      [{ ...base, purpose: 'marketing' }, 403, 'POLICY_REFUSED'],
      [{ ...base, params: { nope: 1 } }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const r = await call(s.url, 'POST', '/jobs', { token: consumer, body });
      assert.equal(r.status, status, `${JSON.stringify(body)} -> ${r.text}`);
      assert.equal(r.body.error, code);
      assert.ok(Array.isArray(r.body.details));
    }
    const malformed = await call(s.url, 'POST', '/jobs', {
      token: consumer,
      raw: '{"scenario":',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(malformed.status, 400);
    const after = (await s.dataSource.query('SELECT COUNT(*) AS n FROM jobs'))[0].n;
    assert.equal(Number(after), Number(before));
  });

  it('a policy refusal names every reason', async () => {
    const r = await call(s.url, 'POST', '/jobs?dryRun=true', {
      token: consumer,
      body: {
        scenario: scenario.id,
        bindings: { utility: datasetId },
        keyset: readKeyFile(join(dir, 'c.keys')).publicKeyset.fingerprint,
        purpose: 'marketing',
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.allow, false);
    assert.deepEqual(
      r.body.decisions[0].reasons.map((x: { code: string }) => x.code),
      ['PURPOSE_NOT_ALLOWED'],
    );
  });

  it('a binding to a dataset with the wrong schema is refused (422)', async () => {
    const doc = datasetDocumentFor('water-district-consumption', 'utility');
    const bad = { ...doc, columns: { ...doc.columns, m3: { type: 'category', values: ['low', 'high'] } } };
    const reg = await call(s.url, 'POST', '/datasets', { token: provider, body: bad });
    assert.equal(reg.status, 201, reg.text);
    const keyset = readKeyFile(join(dir, 'c.keys')).publicKeyset.fingerprint;
    const r = await call(s.url, 'POST', '/jobs', {
      token: consumer,
      body: { scenario: scenario.id, bindings: { utility: reg.body.id }, keyset, purpose: 'public-service' },
    });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.error, 'SCHEMA_MISMATCH');
    assert.match(r.body.details[0].path, /bindings\.utility/);
  });

  it('keysets: garbage is 422, and a keyset whose parameters do not fit the plan is refused', async () => {
    const g = await call(s.url, 'POST', '/keysets', {
      token: consumer,
      raw: new Uint8Array(1000).fill(7),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(g.status, 422, g.text);
    // A keyset without the rotation keys the plan needs.
    const other = join(dir, 'other.keys');
    await generateKeyFile(other, { ...keyRequirements(scenario), galoisSteps: [1] });
    const keys = readKeyFile(other);
    const client = new DataspaceClient({ url: s.url, token: consumer });
    await assert.rejects(
      submitJob(client, keys, scenario, { scenario: scenario.id, bindings: { utility: datasetId }, purpose: 'public-service' }),
      (e: unknown) => e instanceof ApiError && e.status === 422 && e.code === 'KEYSET_MISMATCH',
    );
  });

  it('a job whose every output was withheld: its result answers 200 with no outputs (not 410), and decodes as withheld', async () => {
    // one released metric, a correlation over groups: a total over groups with a suppressed group is withheld whole
    const columns = {
      rid: { type: 'id', description: 'row id' },
      cat: { type: 'category', values: ['a', 'b', 'c'], description: 'category' },
      x: { type: 'number', min: 0, max: 100, description: 'value' },
    };
    const sc = {
      id: 'all-withheld',
      title: 'all withheld',
      sector: 'test',
      description: 'one correlation over groups, one group below the minimum size',
      inputs: { p: { description: 'rows', columns } },
      params: {},
      metrics: [
        { name: 'n', agg: 'count', role: 'p', by: ['p.cat'], release: false, description: 'rows per category' },
        { name: 't', agg: 'sum', of: 'p.x', by: ['p.cat'], release: false, description: 'x per category' },
        { name: 'r', agg: 'correlation', of: ['n', 't'], description: 'count against total over categories' },
      ],
      release: { minGroupSize: 5 },
    } as unknown as Scenario;
    assert.equal((await call(s.url, 'POST', '/scenarios', { token: consumer, body: sc })).status, 201);
    const reg = await call(s.url, 'POST', '/datasets', {
      token: provider,
      body: {
        name: 'few in c',
        description: 'category c has two rows',
        columns,
        policy: {
          consumers: ['*'],
          purposes: ['research'],
          aggregations: ['count', 'sum', 'correlation'],
          rowLevel: false,
          minGroupSize: 5,
          epsilonBudget: null,
          expiresAt: null,
        },
      },
    });
    assert.equal(reg.status, 201, reg.text);
    // 20 rows in a, 12 in b, 2 in c (below 5): c is suppressed, so the correlation over a, b, c is withheld
    const rows: Row[] = Array.from({ length: 34 }, (_, i) => ({ rid: `r${i}`, cat: i < 20 ? 'a' : i < 32 ? 'b' : 'c', x: (i * 7) % 100 }));
    const imp = await call(s.url, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    await generateKeyFile(join(dir, 'withheld.keys'), keyRequirements(sc));
    const keys = readKeyFile(join(dir, 'withheld.keys'));
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const id = String((await submitJob(client, keys, sc, { scenario: sc.id, bindings: { p: reg.body.id }, purpose: 'research' })).id);
    const st = await waitForJob(client, id, undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const raw = await call(s.url, 'GET', `/jobs/${id}/result`, { token: consumer });
    assert.equal(raw.status, 200, raw.text);
    assert.deepEqual(raw.body.outputs, {});
    const doc = await fetchResult(client, id, keys);
    assert.equal(doc.metrics.r, null);
    assert.deepEqual(evaluateReference(sc, {}, { p: rows }, { minGroupSize: 5 }).metrics.r, null);
  });
});

describe('keysets: size limit', () => {
  it('an oversized keyset upload is refused with 413 and nothing is stored', async () => {
    const { testConfig } = await import('./support/env.js');
    const s = await startTestServer({ apps: ['broker', 'ledger'], config: testConfig({ MAX_KEYSET_BYTES: '4096' }) });
    try {
      const consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'c' } })).body
        .token;
      const r = await call(s.url, 'POST', '/keysets', {
        token: consumer,
        raw: new Uint8Array(64 * 1024),
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(r.status, 413, r.text);
      assert.equal(r.body.error, 'PAYLOAD_TOO_LARGE');
      const n = await s.dataSource.query('SELECT COUNT(*) AS n FROM keysets');
      assert.equal(Number(n[0].n), 0);
    } finally {
      await s.cleanup();
    }
  });
});

describe('jobs: a result is kept for RESULT_RETENTION_MS, then deleted; the job and its ledger events stay', () => {
  let s: Server;
  let dir: string;
  const scenario = builtinScenario('water-district-consumption');

  before(async () => {
    s = await startTestServer({ config: testConfig({ RESULT_RETENTION_MS: '8000', RECONCILE_MS: '300' }) });
    dir = mkdtempSync(join(tmpdir(), 'ds-retention-'));
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetched while kept; 410 RESULT_EXPIRED once the sweep deleted it, with no result ciphertext left', async () => {
    const provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'p' } })).body
      .token;
    const consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'c' } })).body
      .token;
    const doc = datasetDocumentFor(scenario.id, 'utility');
    const ds = (await call(s.url, 'POST', '/datasets', { token: provider, body: doc })).body.id as string;
    const rows = generateRoleRows(scenario.id, 'utility', { rows: 200, seed: 3 });
    const imp = await call(s.url, 'POST', `/datasets/${ds}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    await generateKeyFile(join(dir, 'k'), keyRequirements(scenario));
    const keys = readKeyFile(join(dir, 'k'));
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const id = String(
      (await submitJob(client, keys, scenario, { scenario: scenario.id, bindings: { utility: ds }, purpose: 'public-service' })).id,
    );
    assert.equal((await waitForJob(client, id, undefined, 100, 180_000)).status, 'completed');
    const doc1 = await fetchResult(client, id, keys);
    assert.deepEqual(doc1.metrics.meters, evaluateReference(scenario, {}, { utility: rows }).metrics.meters);
    const end = Date.now() + 60_000;
    let r = await call(s.url, 'GET', `/jobs/${id}/result`, { token: consumer });
    while (r.status === 200 && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 250));
      r = await call(s.url, 'GET', `/jobs/${id}/result`, { token: consumer });
    }
    assert.equal(r.status, 410, r.text);
    assert.equal(r.body.error, 'RESULT_EXPIRED');
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: id }), 0);
    // the job itself, and what the ledger says of it, stay
    assert.equal((await call(s.url, 'GET', `/jobs/${id}`, { token: consumer })).body.status, 'completed');
  });
});

describe('job progress: concurrent provider reports (broker alone, no worker)', () => {
  let s: Server;
  before(async () => {
    s = await startTestServer({ apps: ['broker'] });
  });
  after(async () => s.cleanup());

  it('progress from many providers at once: every report is kept (the job row is locked while one is merged)', async () => {
    // Each report reads the job's progress, merges its role and writes it back. Unlocked, on PostgreSQL two
    // reports read the same progress and the second write drops the first role's (seen in CI: a completed job
    // whose second provider still read "pending"). Twelve at once, straight to the gateway. No worker runs here:
    // its reconciler would queue this job (it has no flow), fail it, and every report after that would be dropped.
    const id = `lost-update-${Date.now()}`;
    const roles = Array.from({ length: 12 }, (_, i) => `r${i}`);
    await s.dataSource.getRepository(JobEntity).insert({
      id,
      scenarioId: 'water-district-consumption',
      scenarioVersion: 1,
      consumerId: 'nobody',
      keysetId: 'none',
      purpose: 'public-service',
      bindings: {},
      params: {},
      plan: null,
      status: 'encrypting',
      progress: { stage: 'encrypting', providers: Object.fromEntries(roles.map((r) => [r, { status: 'pending' }])) },
      error: null,
      resultMeta: null,
      epsilon: 0,
      idempotencyKey: null,
      day: new Date().toISOString().slice(0, 10),
    } as never);
    try {
      const gateway = s.app.get(ConnectorGateway);
      await Promise.all(roles.map((r, i) => gateway.reportProgress(id, r, { status: 'encrypted', ciphertexts: i + 1 })));
      const j = await s.dataSource.getRepository(JobEntity).findOneByOrFail({ id });
      assert.equal(j.status, 'encrypting', 'nothing but the reports touched the job');
      const providers = (j.progress as { providers: Record<string, { status: string; ciphertexts?: number }> }).providers;
      assert.deepEqual(
        roles.map((r) => providers[r]),
        roles.map((_, i) => ({ status: 'encrypted', ciphertexts: i + 1 })),
      );
    } finally {
      await s.dataSource.getRepository(JobEntity).delete({ id });
    }
  });
});
