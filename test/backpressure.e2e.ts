/**
 * Admission control (issue 21, backpressure): beyond MAX_ACTIVE_JOBS_PER_CONSUMER accepted jobs not yet ended for
 * one consumer, or MAX_ACTIVE_JOBS in all, a submission answers 429 TOO_MANY_JOBS with Retry-After and stores,
 * queues and charges nothing; once jobs end, submissions are accepted again. The API runs without an evaluation
 * worker so that accepted jobs stay in flight while the limits are probed; a worker process is started afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobEntity } from '#persistence';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, publishKeyset, readKeyFile, waitForJob } from '#sdk';
import { builtinScenario, datasetDocumentFor, evaluateReference, generateRoleRows, type Row } from '#scenario';
import type { SecretKeyset } from '#he-core';
import { call, startTestServer, testConfig } from './support/env.js';
import { freePort, serveProcess, type ServeProcess } from './support/cli.js';
import { toCsv } from './support/data.js';

const SCENARIO = 'water-district-consumption';

describe('backpressure: per-consumer and global limits on jobs in flight', { timeout: 600_000 }, () => {
  const config = testConfig({ MAX_ACTIVE_JOBS_PER_CONSUMER: '2', MAX_ACTIVE_JOBS: '3', ADMISSION_RETRY_SECONDS: '7' });
  let s: Awaited<ReturnType<typeof startTestServer>>;
  let worker: ServeProcess | undefined;
  let dir: string;
  /** one keyset per consumer (a keyset belongs to the participant that registered it) */
  const keys = new Map<string, SecretKeyset>();
  let rows: Row[];
  let dataset: string;
  const consumers: string[] = [];

  before(async () => {
    s = await startTestServer({ apps: ['provider', 'broker', 'ledger'], config });
    dir = mkdtempSync(join(tmpdir(), 'ds-backpressure-'));
    const provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'p' } })).body
      .token as string;
    for (const name of ['c1', 'c2']) {
      consumers.push((await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name } })).body.token);
    }
    const doc = datasetDocumentFor(SCENARIO, 'utility');
    dataset = (await call(s.url, 'POST', '/datasets', { token: provider, body: doc })).body.id;
    rows = generateRoleRows(SCENARIO, 'utility', { rows: 2_000, seed: 5 });
    const imp = await call(s.url, 'POST', `/datasets/${dataset}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    for (const [i, token] of consumers.entries()) {
      await generateKeyFile(join(dir, `k${i}`), keyRequirements(builtinScenario(SCENARIO)));
      keys.set(token, readKeyFile(join(dir, `k${i}`)));
    }
  });
  after(async () => {
    await worker?.kill();
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function body(token: string): Promise<Record<string, unknown>> {
    const keyset = await publishKeyset(new DataspaceClient({ url: s.url, token }), keys.get(token)!);
    return { scenario: SCENARIO, bindings: { utility: dataset }, keyset, purpose: 'public-service' };
  }
  const stored = async (): Promise<number> => s.dataSource.getRepository(JobEntity).count();

  async function tooMany(token: string, code: 'CONSUMER_JOB_LIMIT' | 'QUEUE_FULL'): Promise<void> {
    const before = await stored();
    const res = await fetch(`${s.url}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(await body(token)),
    });
    const r = { status: res.status, body: (await res.json()) as Record<string, unknown> };
    assert.equal(r.status, 429, JSON.stringify(r.body));
    assert.equal(r.body.error, 'TOO_MANY_JOBS');
    assert.deepEqual(
      (r.body.details as { code: string; path: string }[]).map((d) => [d.path, d.code]),
      [['$', code]],
    );
    assert.equal(res.headers.get('retry-after'), '7');
    if (code === 'QUEUE_FULL') assert.doesNotMatch(r.body.message as string, /\d/, 'the data space total is not disclosed');
    assert.equal(await stored(), before, 'nothing stored');
  }

  it('answers 429 with Retry-After beyond either limit, stores nothing, and accepts again once jobs have ended', async () => {
    const [c1, c2] = consumers as [string, string];
    const accepted: [string, string][] = [];
    for (let i = 0; i < 2; i++) {
      const r = await call(s.url, 'POST', '/jobs', { token: c1, body: await body(c1) });
      assert.equal(r.status, 202, r.text);
      accepted.push([c1, r.body.id as string]);
    }
    await tooMany(c1, 'CONSUMER_JOB_LIMIT');
    // an idempotent replay of an accepted job is an answer, not a new job: not refused
    const again = await call(s.url, 'POST', '/jobs', { token: c2, body: await body(c2), headers: { 'idempotency-key': 'k-1' } });
    assert.equal(again.status, 202, again.text);
    accepted.push([c2, again.body.id as string]);
    const replay = await call(s.url, 'POST', '/jobs', { token: c2, body: await body(c2), headers: { 'idempotency-key': 'k-1' } });
    assert.equal(replay.status, 200, replay.text);
    assert.equal(replay.body.id, again.body.id);
    // three in flight in all: the second consumer, under its own limit, meets the global one
    await tooMany(c2, 'QUEUE_FULL');
    // the dry run is not admission: it still answers
    const dry = await call(s.url, 'POST', '/jobs?dryRun=true', { token: c1, body: await body(c1) });
    assert.equal(dry.status, 200, dry.text);

    // a worker starts: the jobs in flight complete, correctly, and the same consumer is accepted again
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: config.DATA_DIR,
      QUEUE_PREFIX: config.QUEUE_PREFIX,
      REDIS_URL: config.REDIS_URL,
      REDIS_AUTOSTART: 'false',
      LOG_LEVEL: 'silent',
      HE_THREADS: '1',
      ...(config.DATABASE_SCHEMA ? { DATABASE_SCHEMA: config.DATABASE_SCHEMA } : {}),
    };
    worker = await serveProcess('worker', await freePort(), env);
    const ref = evaluateReference(builtinScenario(SCENARIO), {}, { utility: rows });
    for (const [token, id] of accepted) {
      const client = new DataspaceClient({ url: s.url, token });
      const st = await waitForJob(client, id, undefined, 200, 300_000);
      assert.equal(st.status, 'completed', JSON.stringify(st.error));
      const doc = await fetchResult(client, id, keys.get(token)!);
      assert.deepEqual(doc.metrics.meters, ref.metrics.meters);
    }
    const later = await call(s.url, 'POST', '/jobs', { token: c1, body: await body(c1) });
    assert.equal(later.status, 202, later.text);
    const st = await waitForJob(new DataspaceClient({ url: s.url, token: c1 }), later.body.id as string, undefined, 200, 300_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
  });
});
