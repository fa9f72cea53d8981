/**
 * Connector credentials act only for what they own (issue 16). Every attack a `connector` token could make on
 * the broker's connector routes, made with a credential that owns no dataset and with one that owns another
 * dataset (and, where it matters, by the job's own connector for what is not its own): each is refused, and
 * the broker's state (job, bound roles, ciphertexts, offers) is byte for byte what it was. Then the private set
 * intersection: each party gets only the sets it must re-blind and only its own match positions, and the
 * broker keeps no blinded set once it has intersected, nothing at all once the job ended.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frameUpload } from '#contracts';
import { JobCiphertextEntity, JobDatasetEntity, JobEntity, LedgerEntryEntity, OfferEntity } from '#persistence';
import { POINT_BYTES, PsiParty } from '#psi';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import { type Plan, builtinScenario, datasetDocumentFor, evaluateReference, generateRoleRows, type Row } from '#scenario';
import { HttpBrokerLink } from '../apps/provider/src/broker-link.js';
import { psiAlign } from '../apps/provider/src/encryption/psi-alignment.js';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

async function waitUntil(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("connector credentials act only for their own connector's datasets and jobs", { timeout: 300_000 }, () => {
  let s: Server;
  let dir: string;
  const run = randomBytes(3).toString('hex');
  const water = builtinScenario('water-district-consumption');
  const tokens: Record<string, string> = {};
  let providerId: string;
  let datasetId: string;
  let rows: Row[];
  let doneJob: string;
  let keysetId: string;
  let otherDataset: string;
  let queuedJob: string;

  const connectorCred = async (connectorId: string): Promise<string> => {
    const r = await call(s.url, 'POST', '/participants', {
      token: s.adminToken,
      body: { role: 'connector', name: `connector ${connectorId}`, connectorId },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.connectorId, connectorId);
    return r.body.token;
  };
  const publishOffer = async (
    token: string,
    id: string,
    connectorId: string,
    scenario: string,
    role: string,
    rowCount: number,
  ): Promise<{ status: number; text: string }> => {
    const doc = datasetDocumentFor(scenario, role);
    return call(s.url, 'PUT', `/connector/offers/${id}`, {
      token,
      body: {
        datasetId: id,
        providerId,
        connectorId,
        name: doc.name,
        description: doc.description ?? '',
        columns: doc.columns,
        policy: doc.policy,
        rowCount,
      },
    });
  };

  /** Everything the broker holds about a job, and every offer: rows as stored, ciphertexts by hash. */
  const snapshot = async (jobId: string): Promise<string> => {
    const db = s.dataSource;
    const job = await db.getRepository(JobEntity).findOneBy({ id: jobId });
    const roles = await db.getRepository(JobDatasetEntity).find({ where: { jobId }, order: { role: 'ASC' } });
    const cts = (
      await db
        .getRepository(JobCiphertextEntity)
        .find({ where: { jobId }, order: { kind: 'ASC', role: 'ASC', feature: 'ASC', chunk: 'ASC' } })
    ).map((c) => [c.kind, c.role, c.feature, c.chunk, createHash('sha256').update(c.blob).digest('hex')]);
    const offers = await db.getRepository(OfferEntity).find({ order: { datasetId: 'ASC' } });
    return JSON.stringify({ job, roles, cts, offers });
  };

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-connsec-'));
    const provider = await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'utility' } });
    tokens.provider = provider.body.token;
    providerId = provider.body.id;
    tokens.otherProvider = (
      await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'another utility' } })
    ).body.token;
    tokens.consumer = (
      await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'planning' } })
    ).body.token;
    // `local` is the embedded connector that serves the provider's dataset; `intruder` owns nothing; `other` owns another dataset.
    tokens.local = await connectorCred('local');
    tokens.intruder = await connectorCred(`intruder-${run}`);
    tokens.other = await connectorCred(`other-${run}`);

    const doc = datasetDocumentFor(water.id, 'utility');
    const reg = await call(s.url, 'POST', '/datasets', { token: tokens.provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    datasetId = reg.body.id;
    rows = generateRoleRows(water.id, 'utility', { rows: 300, seed: 3 });
    const imp = await call(s.url, 'POST', `/datasets/${datasetId}/rows`, {
      token: tokens.provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);

    // The other connector publishes its own dataset (nobody serves its queue here, so its jobs stay queued).
    otherDataset = `other-water-${run}`;
    const pub = await publishOffer(tokens.other, otherDataset, `other-${run}`, water.id, 'utility', 300);
    assert.equal(pub.status, 204, pub.text);

    await generateKeyFile(join(dir, 'k'), keyRequirements(water));
    const keys = readKeyFile(join(dir, 'k'));
    const client = new DataspaceClient({ url: s.url, token: tokens.consumer });
    const sub = await submitJob(client, keys, water, { scenario: water.id, bindings: { utility: datasetId }, purpose: 'public-service' });
    doneJob = String(sub.id);
    const st = await waitForJob(client, doneJob, undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    keysetId = keys.publicKeyset.fingerprint;
    // Its own keyset, so that the other connector has no job naming the first one.
    await generateKeyFile(join(dir, 'k2'), keyRequirements(water));
    queuedJob = String(
      (
        await submitJob(client, readKeyFile(join(dir, 'k2')), water, {
          scenario: water.id,
          bindings: { utility: otherDataset },
          purpose: 'public-service',
        })
      ).id,
    );
  });
  after(async () => {
    await s?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a connector credential needs a connector id, and only a connector credential has one', async () => {
    for (const body of [
      { role: 'connector', name: 'x' },
      { role: 'provider', name: 'x', connectorId: 'x' },
      { role: 'connector', name: 'x', connectorId: 'Bad Id' },
    ]) {
      const r = await call(s.url, 'POST', '/participants', { token: s.adminToken, body });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, 'VALIDATION_FAILED');
    }
    const me = await call(s.url, 'GET', '/participants/me', { token: tokens.intruder });
    assert.equal(me.body.connectorId, `intruder-${run}`);
    // An admin token binds no connector: it cannot act as one either.
    assert.equal((await call(s.url, 'GET', `/connector/jobs/${doneJob}`, { token: s.adminToken })).status, 403);
  });

  it("the job's own connector reads it and its keyset (the checks refuse only what is not owned)", async () => {
    const j = await call(s.url, 'GET', `/connector/jobs/${doneJob}`, { token: tokens.local });
    assert.equal(j.status, 200, j.text);
    assert.equal(j.body.bindings.utility, datasetId);
    assert.equal((await call(s.url, 'GET', `/connector/keysets/${keysetId}`, { token: tokens.local })).status, 200);
    assert.equal((await call(s.url, 'GET', `/connector/jobs/${queuedJob}`, { token: tokens.other })).status, 200);
  });

  it("reading another connector's job (plan included) or its keyset: 404, as if it did not exist", async () => {
    for (const who of ['intruder', 'other']) {
      const j = await call(s.url, 'GET', `/connector/jobs/${doneJob}`, { token: tokens[who] });
      assert.equal(j.status, 404, `${who}: ${j.text}`);
      assert.ok(!j.text.includes('circuit') && !j.text.includes(datasetId), 'nothing of the job in the answer');
      assert.equal((await call(s.url, 'GET', `/connector/keysets/${keysetId}`, { token: tokens[who] })).status, 404, who);
    }
    assert.equal((await call(s.url, 'GET', `/connector/jobs/${queuedJob}`, { token: tokens.local })).status, 404);
    assert.equal((await call(s.url, 'GET', '/connector/jobs/no-such-job', { token: tokens.intruder })).status, 404);
  });

  it("uploading a `$result`, `$params` or another role's inputs (begin, parts, commit): refused, nothing changed, the result still decrypts to the reference", async () => {
    const part = Buffer.concat(frameUpload({ first: [0] }, [{ id: 'out', chunks: [new Uint8Array(randomBytes(64))] }]));
    const meta = { rows: 1, groupCounts: {}, missingKeys: 0, skippedRows: 0, ciphertexts: 1, bytes: 64 };
    const attempts: [string, string, string, number][] = [];
    for (const job of [doneJob, queuedJob]) {
      for (const role of ['$result', '$params', 'utility', '$staging:utility']) {
        for (const who of ['intruder', 'other', 'local']) {
          const owner = (job === doneJob && who === 'local') || (job === queuedJob && who === 'other');
          // The owner of the job's dataset may upload its own role only; `$` entries never.
          if (owner && role === 'utility') continue;
          attempts.push([job, role, who, owner ? 403 : 404]);
        }
      }
    }
    const before = [await snapshot(doneJob), await snapshot(queuedJob)];
    for (const [job, role, who, status] of attempts) {
      const base = `/connector/jobs/${job}/inputs/${encodeURIComponent(role)}`;
      const b = await call(s.url, 'POST', `${base}/begin`, { token: tokens[who], body: {} });
      const p = await call(s.url, 'PUT', `${base}/parts`, {
        token: tokens[who],
        raw: part,
        headers: { 'content-type': 'application/octet-stream' },
      });
      const c = await call(s.url, 'POST', `${base}/commit`, { token: tokens[who], body: { meta } });
      for (const r of [b, p, c])
        assert.equal(r.status, status, `${who} ${role} on ${job === doneJob ? 'completed' : 'queued'} job: ${r.text}`);
    }
    assert.deepEqual([await snapshot(doneJob), await snapshot(queuedJob)], before);
    // Its own connector cannot rewrite a completed job's inputs either.
    const own = await call(s.url, 'POST', `/connector/jobs/${doneJob}/inputs/utility/begin`, { token: tokens.local, body: {} });
    assert.equal(own.status, 409, own.text);
    assert.deepEqual(await snapshot(doneJob), before[0]);
    const client = new DataspaceClient({ url: s.url, token: tokens.consumer });
    const result = await fetchResult(client, doneJob, readKeyFile(join(dir, 'k')));
    assert.deepEqual(result.metrics.meters, evaluateReference(water, {}, { utility: rows }).metrics.meters);
  });

  it('an upload part the plan does not describe is refused (400, with its path) and nothing is staged: an unknown feature, a second ciphertext of a TOTALS feature', async () => {
    const plan = (await s.dataSource.getRepository(JobEntity).findOneByOrFail({ id: queuedJob })).plan as unknown as Plan;
    const totals = plan.roles.utility!.features.find((f) => f.layout === 'totals');
    assert.ok(totals, 'the water plan sends group totals');
    const cases: [string, number, string][] = [
      ['no-such-feature', 0, '/features/0/id'],
      [totals.id, 1, '/features/0/chunks'],
    ];
    for (const [feature, first, path] of cases) {
      const part = Buffer.concat(frameUpload({ first: [first] }, [{ id: feature, chunks: [new Uint8Array(randomBytes(64))] }]));
      const r = await call(s.url, 'PUT', `/connector/jobs/${queuedJob}/inputs/utility/parts`, {
        token: tokens.other,
        raw: part,
        headers: { 'content-type': 'application/octet-stream' },
      });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.details[0].path, path, r.text);
    }
    // the same feature twice in one part
    const twice = Buffer.concat(
      frameUpload({ first: [0, 0] }, [
        { id: totals.id, chunks: [new Uint8Array(randomBytes(64))] },
        { id: totals.id, chunks: [new Uint8Array(randomBytes(64))] },
      ]),
    );
    const dup = await call(s.url, 'PUT', `/connector/jobs/${queuedJob}/inputs/utility/parts`, {
      token: tokens.other,
      raw: twice,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(dup.status, 400, dup.text);
    assert.equal(dup.body.details[0].path, '/features/1/id');
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: queuedJob, kind: 'staging', role: 'utility' }), 0);
    // a commit that lacks some of the plan's features: 409, nothing swapped in
    const base = `/connector/jobs/${queuedJob}/inputs/utility`;
    assert.equal((await call(s.url, 'POST', `${base}/begin`, { token: tokens.other, body: {} })).status, 204);
    const one = Buffer.concat(frameUpload({ first: [0] }, [{ id: totals.id, chunks: [new Uint8Array(randomBytes(64))] }]));
    const put = await call(s.url, 'PUT', `${base}/parts`, {
      token: tokens.other,
      raw: one,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.ok(put.status < 300, put.text);
    const meta = { rows: 1, groupCounts: {}, missingKeys: 0, skippedRows: 0, ciphertexts: 1, bytes: 64 };
    const commit = await call(s.url, 'POST', `${base}/commit`, { token: tokens.other, body: { meta } });
    assert.equal(commit.status, 409, commit.text);
    assert.match(commit.body.message, /upload incomplete: feature .* has 0 ciphertexts staged/);
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: queuedJob, kind: 'input', role: 'utility' }), 0);
    assert.equal((await call(s.url, 'POST', `${base}/begin`, { token: tokens.other, body: {} })).status, 204);
  });

  it("once the job is evaluating, its own connector's begin, part and commit are refused (409) and nothing is stored", async () => {
    const plan = (await s.dataSource.getRepository(JobEntity).findOneByOrFail({ id: queuedJob })).plan as unknown as Plan;
    const feature = plan.roles.utility!.features[0]!.id;
    const stored = async (): Promise<string[]> =>
      (await s.dataSource.getRepository(JobCiphertextEntity).findBy({ jobId: queuedJob }))
        .map((c) => `${c.kind}/${c.role}/${c.feature}/${c.chunk}`)
        .sort();
    const before = await stored();
    await s.dataSource.getRepository(JobEntity).update({ id: queuedJob }, { status: 'evaluating' });
    try {
      const base = `/connector/jobs/${queuedJob}/inputs/utility`;
      const part = Buffer.concat(frameUpload({ first: [0] }, [{ id: feature, chunks: [new Uint8Array(randomBytes(64))] }]));
      const meta = { rows: 1, groupCounts: {}, missingKeys: 0, skippedRows: 0, ciphertexts: 1, bytes: 64 };
      const answers = [
        await call(s.url, 'POST', `${base}/begin`, { token: tokens.other, body: {} }),
        await call(s.url, 'PUT', `${base}/parts`, {
          token: tokens.other,
          raw: part,
          headers: { 'content-type': 'application/octet-stream' },
        }),
        await call(s.url, 'POST', `${base}/commit`, { token: tokens.other, body: { meta } }),
      ];
      for (const r of answers) {
        assert.equal(r.status, 409, r.text);
        assert.equal(r.body.error, 'CONFLICT');
        assert.match(r.body.message, /is evaluating: its inputs can no longer change/);
      }
    } finally {
      await s.dataSource.getRepository(JobEntity).update({ id: queuedJob }, { status: 'queued' });
    }
    assert.deepEqual(await stored(), before);
  });

  it('progress, refusal and failure reports on a job of another connector: 404, nothing changed; a completed job is never marked failed', async () => {
    const before = [await snapshot(doneJob), await snapshot(queuedJob)];
    const reports: [string, unknown][] = [
      ['progress', { progress: { status: 'forged' } }],
      ['refusal', { reasons: [{ code: 'X', message: 'forged' }] }],
      ['failure', { message: 'forged' }],
    ];
    for (const [what, body] of reports) {
      for (const who of ['intruder', 'other']) {
        const r = await call(s.url, 'POST', `/connector/jobs/${doneJob}/roles/utility/${what}`, { token: tokens[who], body });
        assert.equal(r.status, 404, `${who} ${what}: ${r.text}`);
      }
      for (const who of ['intruder', 'local']) {
        const r = await call(s.url, 'POST', `/connector/jobs/${queuedJob}/roles/utility/${what}`, { token: tokens[who], body });
        assert.equal(r.status, 404, `${who} ${what} on the queued job: ${r.text}`);
      }
    }
    // The job's own connector: a completed job stays completed (409), and its result is still served.
    for (const [what, body] of reports.slice(1)) {
      const r = await call(s.url, 'POST', `/connector/jobs/${doneJob}/roles/utility/${what}`, { token: tokens.local, body });
      assert.equal(r.status, 409, `${what}: ${r.text}`);
    }
    const progress = await call(s.url, 'POST', `/connector/jobs/${doneJob}/roles/utility/progress`, {
      token: tokens.local,
      body: { progress: { status: 'forged' } },
    });
    assert.equal(progress.status, 204, 'a late progress report is accepted and ignored');
    assert.deepEqual([await snapshot(doneJob), await snapshot(queuedJob)], before);
    const res = await call(s.url, 'GET', `/jobs/${doneJob}/result`, { token: tokens.consumer });
    assert.equal(res.status, 200, res.text);
  });

  it("PUT another provider's offer (budget lifted, owner changed, connector changed): refused, the catalog entry unchanged; its own connector cannot loosen it either", async () => {
    const before = await snapshot(doneJob);
    const current = (await s.dataSource.getRepository(OfferEntity).findOneByOrFail({ datasetId })) as OfferEntity;
    const otherProviderId = (await call(s.url, 'GET', '/participants/me', { token: tokens.otherProvider })).body.id;
    const body = (patch: Record<string, unknown>): Record<string, unknown> => ({
      datasetId,
      providerId: current.providerId,
      connectorId: current.connectorId,
      name: current.name,
      description: current.description,
      columns: current.columns,
      policy: current.policy,
      rowCount: current.rowCount,
      ...patch,
    });
    const noBudget = { policy: { ...current.policy, epsilonBudget: null } };
    const cases: [string, Record<string, unknown>, number][] = [
      ['intruder', body(noBudget), 403],
      ['intruder', body({ ...noBudget, connectorId: `intruder-${run}` }), 403],
      ['intruder', body({ providerId: otherProviderId, connectorId: `intruder-${run}` }), 403],
      ['other', body({ connectorId: `other-${run}` }), 403],
      ['other', body({ providerId: otherProviderId, connectorId: `other-${run}` }), 403],
      ['other', body({ rowCount: 10 ** 6 }), 403],
      ['local', body(noBudget), 409],
      ['local', body({ providerId: otherProviderId }), 403],
      ['local', body({ connectorId: `other-${run}` }), 403],
    ];
    for (const [who, b, status] of cases) {
      const r = await call(s.url, 'PUT', `/connector/offers/${datasetId}`, { token: tokens[who], body: b });
      assert.equal(r.status, status, `${who} ${JSON.stringify(b).slice(0, 200)}: ${r.text}`);
    }
    // A new offer that is no valid dataset document, in the name of a participant who is not a provider, or of
    // another connector: refused too.
    const bad = await call(s.url, 'PUT', `/connector/offers/bad-${run}`, {
      token: tokens.intruder,
      body: body({ datasetId: `bad-${run}`, connectorId: `intruder-${run}`, policy: { epsilonBudget: 'lots' } }),
    });
    assert.equal(bad.status, 400, bad.text);
    const consumerId = (await call(s.url, 'GET', '/participants/me', { token: tokens.consumer })).body.id;
    const notProvider = await call(s.url, 'PUT', `/connector/offers/np-${run}`, {
      token: tokens.intruder,
      body: body({ datasetId: `np-${run}`, connectorId: `intruder-${run}`, providerId: consumerId }),
    });
    assert.equal(notProvider.status, 422, notProvider.text);
    const fake = await publishOffer(tokens.intruder, `fake-${run}`, `other-${run}`, water.id, 'utility', 10);
    assert.equal(fake.status, 403, fake.text);
    assert.deepEqual(await snapshot(doneJob), before);
    const catalog = await call(s.url, 'GET', '/offers', { token: tokens.consumer });
    assert.equal(catalog.body.find((o: { id: string }) => o.id === datasetId)?.rows, 300);
    // What its own connector may change (the row count on import) still goes through, as a ledger event.
    const ok = await call(s.url, 'PUT', `/connector/offers/${datasetId}`, { token: tokens.local, body: body({}) });
    assert.equal(ok.status, 204, ok.text);
    await waitUntil(
      async () => (await s.dataSource.getRepository(LedgerEntryEntity).countBy({ type: 'offer.published' })) >= 2,
      20_000,
      'offer.published in the ledger',
    );
    const entries = await s.dataSource.getRepository(LedgerEntryEntity).findBy({ type: 'offer.published' });
    assert.equal(entries.length, 2, 'one event per publication that happened, none for a refused one');
  });

  it('the PSI routes of a job that binds none of its datasets, or of no job: 404, nothing stored', async () => {
    const points = new Uint8Array(randomBytes(POINT_BYTES * 4));
    for (const job of [doneJob, queuedJob, 'no-such-job', 'x'.repeat(300), 'a%00b']) {
      for (const who of ['intruder', job === queuedJob ? 'local' : 'other']) {
        // an id no job can have (over 128 characters, a NUL) is refused at the edge (400) before any look-up
        const refused = job.length > 128 || job.includes('%00') ? [400, 404] : [404];
        const put = await call(s.url, 'PUT', `/connector/jobs/${job}/psi/utility/sets/0/1`, {
          token: tokens[who],
          raw: points,
          headers: { 'content-type': 'application/octet-stream' },
        });
        assert.ok(refused.includes(put.status), `${who} ${job}: ${put.status} ${put.text}`);
        assert.ok(
          refused.includes((await call(s.url, 'GET', `/connector/jobs/${job}/psi/utility/sets/0/1`, { token: tokens[who] })).status),
        );
        assert.ok(
          refused.includes((await call(s.url, 'GET', `/connector/jobs/${job}/psi/utility/matches`, { token: tokens[who] })).status),
        );
      }
    }
    // The old free-form mailbox is gone.
    const mailbox = await call(s.url, 'PUT', `/connector/jobs/no-such-job/psi/psi:set:0:1`, {
      token: tokens.intruder,
      raw: points,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(mailbox.status, 404);
    // The owner of a job that does not align by PSI: 409.
    const own = await call(s.url, 'PUT', `/connector/jobs/${queuedJob}/psi/utility/sets/0/1`, {
      token: tokens.other,
      raw: points,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(own.status, 409, own.text);
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ kind: 'psi' }), 0);
  });

  it("an upload part larger than 64 of the plan's ciphertexts is refused (413) before its body is read, even from the job's own connector", async () => {
    const { request } = await import('node:http');
    const u = new URL(`/connector/jobs/${queuedJob}/inputs/utility/parts`, s.url);
    const declared = 300 * 1024 * 1024;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PUT',
        headers: {
          authorization: `Bearer ${tokens.other}`,
          'content-type': 'application/octet-stream',
          'content-length': String(declared),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    assert.equal(status, 413);
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: queuedJob }), 0);
  });

  it('PSI: each party gets only the sets it re-blinds and only its own match positions; the broker keeps no blinded set', async () => {
    const scenario = builtinScenario('chronic-elderly-care-demand');
    const roles = Object.keys(scenario.align!.on).sort();
    assert.equal(roles.length, 2);
    const n = 40;
    const ids: Record<string, string[]> = {
      [roles[0]!]: Array.from({ length: n }, (_, i) => `resident-${i}`),
      [roles[1]!]: Array.from({ length: n }, (_, i) => `resident-${i + 25}`),
    };
    const shared = new Set(ids[roles[0]!]!.filter((x) => ids[roles[1]!]!.includes(x)));
    const cred: Record<string, string> = {};
    const bindings: Record<string, string> = {};
    for (const role of roles) {
      cred[role] = await connectorCred(`psi-${role}-${run}`);
      bindings[role] = `psi-${role}-${run}`;
      // The second party's dataset has more rows than ids (rows without a match key are not in a set).
      const pub = await publishOffer(cred[role], bindings[role], `psi-${role}-${run}`, scenario.id, role, role === roles[0] ? n : n + 10);
      assert.equal(pub.status, 204, pub.text);
    }
    await generateKeyFile(join(dir, 'psi'), keyRequirements(scenario));
    const client = new DataspaceClient({ url: s.url, token: tokens.consumer });
    const job = String(
      (await submitJob(client, readKeyFile(join(dir, 'psi')), scenario, { scenario: scenario.id, bindings, purpose: 'public-service' })).id,
    );
    const psi = (role: string, what: string): string => `/connector/jobs/${job}/psi/${role}/${what}`;
    const put = (role: string, what: string, b: Uint8Array, token = cred[role]!) =>
      call(s.url, 'PUT', psi(role, what), { token, raw: b, headers: { 'content-type': 'application/octet-stream' } });
    const get = async (role: string, what: string, token = cred[role]!): Promise<{ status: number; bytes: Uint8Array; text: string }> => {
      const r = await fetch(s.url + psi(role, what), { headers: { authorization: `Bearer ${token}` } });
      const bytes = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, bytes, text: Buffer.from(bytes).toString('utf8') };
    };

    const parties = Object.fromEntries(roles.map((r) => [r, new PsiParty(`dataspace-job:${job}`)]));
    const [a, b] = roles as [string, string];
    // Refused: a set larger than the dataset's row count (it could probe for ids it does not hold); a role of
    // another connector; another party's index; duplicate points.
    const probe = new PsiParty(`dataspace-job:${job}`).blind([...ids[a]!, ...Array.from({ length: 20 }, (_, i) => `probe-${i}`)]);
    assert.equal((await put(a, 'sets/0/1', probe.subarray(0, (n + 1) * POINT_BYTES))).status, 422, 'over its own row count');
    assert.equal((await put(a, 'sets/0/1', probe)).status, 413, 'over every row count of the job: refused before it is read whole');
    assert.equal((await put(b, 'sets/0/1', probe.subarray(0, POINT_BYTES * 2), cred[a])).status, 403);
    assert.equal((await put(a, 'sets/1/1', probe.subarray(0, POINT_BYTES * 2))).status, 403);
    const dup = new Uint8Array(POINT_BYTES * 2);
    dup.set(probe.subarray(0, POINT_BYTES), 0);
    dup.set(probe.subarray(0, POINT_BYTES), POINT_BYTES);
    assert.equal((await put(a, 'sets/0/1', dup)).status, 422);
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: job, kind: 'psi' }), 0);

    const own: Record<string, Uint8Array> = {};
    for (const [i, role] of roles.entries()) {
      own[role] = parties[role]!.blind(ids[role]!);
      const r = await put(role, `sets/${i}/1`, own[role]!);
      assert.equal(r.status, 204, r.text);
    }
    assert.equal((await put(a, 'sets/0/1', own[a]!)).status, 409, 'a party joins once: a second key would misalign its rows');
    // A party never gets its own set back, nor any set it does not re-blind next, nor a fully blinded one.
    assert.equal((await get(a, 'sets/0/1')).status, 403);
    assert.equal((await get(a, 'sets/1/2')).status, 400);
    assert.equal((await get(a, 'sets/1/1', cred[b])).status, 403, 'not its role');
    assert.equal((await get(a, 'matches')).status, 404, 'no intersection before every set carries every key');
    for (const [i, role] of roles.entries()) {
      const other = 1 - i;
      const task = await get(role, `sets/${other}/1`);
      assert.equal(task.status, 200, task.text);
      assert.deepEqual(task.bytes, own[roles[other]!], 'the set it must re-blind, exactly as its owner sent it');
      const r = await put(role, `sets/${other}/2`, parties[role]!.reblind(task.bytes));
      assert.equal(r.status, 204, r.text);
    }
    // Intersected: no blinded set is kept, only each party's positions.
    const kept = await s.dataSource.getRepository(JobCiphertextEntity).findBy({ jobId: job, kind: 'psi' });
    assert.deepEqual(kept.map((k) => k.feature).sort(), roles.map((r) => `matches:${r}`).sort());
    const aligned: Record<string, string[]> = {};
    for (const role of roles) {
      const m = await get(role, 'matches');
      assert.equal(m.status, 200, m.text);
      const body = JSON.parse(m.text) as { positions: number[] };
      assert.deepEqual(Object.keys(body), ['positions'], 'positions only');
      assert.equal(body.positions.length, shared.size);
      assert.ok(
        body.positions.every((p) => Number.isInteger(p) && p >= 0 && p < n),
        'indexes into its own batch',
      );
      aligned[role] = parties[role]!.resolve(body.positions);
      assert.equal(
        (
          await get(
            roles.find((r) => r !== role)!,
            'matches',
            cred[role],
          )
        ).status,
        403,
        "never another party's positions",
      );
    }
    assert.deepEqual(new Set(aligned[a]), shared);
    assert.deepEqual(aligned[a], aligned[b], 'one order for every party: the rows line up');
    // The job ends: nothing of the intersection is left, and the routes refuse.
    const cancel = await call(s.url, 'POST', `/jobs/${job}/cancel`, { token: tokens.consumer });
    assert.equal(cancel.status, 200, cancel.text);
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: job, kind: 'psi' }), 0);
    assert.equal((await get(a, 'matches')).status, 409);
    assert.equal((await put(a, 'sets/0/1', own[a]!)).status, 409);
    for (const p of Object.values(parties)) p.destroy();
  });

  it("PSI with the connector's own code over HTTP (HttpBrokerLink, psiAlign): the parties end with the same aligned ids; an intruder cannot join", async () => {
    const scenario = builtinScenario('chronic-elderly-care-demand');
    const roles = Object.keys(scenario.align!.on).sort();
    const ids: Record<string, string[]> = {
      [roles[0]!]: Array.from({ length: 30 }, (_, i) => `person-${i * 2}`),
      [roles[1]!]: Array.from({ length: 30 }, (_, i) => `person-${i * 3}`),
    };
    const shared = new Set(ids[roles[0]!]!.filter((x) => ids[roles[1]!]!.includes(x)));
    const links: Record<string, HttpBrokerLink> = {};
    const bindings: Record<string, string> = {};
    for (const role of roles) {
      const connectorId = `http-${role}-${run}`;
      const token = await connectorCred(connectorId);
      links[role] = new HttpBrokerLink(s.url, token);
      assert.equal(await links[role]!.boundConnectorId(), connectorId);
      bindings[role] = connectorId;
      const pub = await publishOffer(token, bindings[role], connectorId, scenario.id, role, 30);
      assert.equal(pub.status, 204, pub.text);
    }
    await generateKeyFile(join(dir, 'psi2'), keyRequirements(scenario));
    const client = new DataspaceClient({ url: s.url, token: tokens.consumer });
    const job = String(
      (await submitJob(client, readKeyFile(join(dir, 'psi2')), scenario, { scenario: scenario.id, bindings, purpose: 'public-service' }))
        .id,
    );
    const intruder = new HttpBrokerLink(s.url, tokens.intruder);
    await assert.rejects(psiAlign(intruder, job, roles, roles[0]!, ids[roles[0]!]!, { timeoutMs: 2000 }), /404/);
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: job, kind: 'psi' }), 0);
    const out = await Promise.all(roles.map((role) => psiAlign(links[role]!, job, roles, role, ids[role]!, { timeoutMs: 60_000 })));
    assert.deepEqual(new Set(out[0]), shared);
    assert.deepEqual(out[0], out[1], 'the same order at every party');
    const kept = await s.dataSource.getRepository(JobCiphertextEntity).findBy({ jobId: job, kind: 'psi' });
    assert.deepEqual(kept.map((k) => k.feature).sort(), roles.map((r) => `matches:${r}`).sort(), 'no blinded set kept');
    assert.equal((await call(s.url, 'POST', `/jobs/${job}/cancel`, { token: tokens.consumer })).status, 200);
    assert.equal(await s.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId: job, kind: 'psi' }), 0);
  });
});
