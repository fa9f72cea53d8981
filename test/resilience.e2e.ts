import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import { builtinScenario, datasetDocumentFor, evaluateReference, generateRoleRows, type Row } from '#scenario';
import { type ServeProcess as Proc, freePort, serveProcess as serve } from './support/cli.js';
import { call } from './support/env.js';
import { toCsv } from './support/data.js';
import { dropRunState } from './support/cleanup.js';

function redis(port: number, dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (/Ready to accept connections/.test(out)) resolve(child);
    });
    child.once('exit', (c) => reject(new Error(`redis-server exited ${c}`)));
  });
}

async function waitUntil(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const SCENARIO = 'water-district-consumption';

describe('resilience: crashes and restarts lose no accepted job', { timeout: 600_000 }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let api: Proc;
  let apiUrl: string;
  let prov: Proc;
  let provUrl: string;
  let provider: string;
  let consumer: string;
  let auditor: string;
  let dataset: string;
  let rows: Row[];
  let redisProc: ChildProcess;
  let redisPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-resilience-'));
    redisPort = await freePort();
    redisProc = await redis(redisPort, dir);
    env = {
      ...process.env,
      DATA_DIR: join(dir, 'data'),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      REDIS_AUTOSTART: 'false',
      QUEUE_PREFIX: `dsres-${randomBytes(3).toString('hex')}`,
      LOG_LEVEL: 'silent',
      WORKER_LOCK_MS: '3000',
      RECONCILE_MS: '1000',
      HE_THREADS: '1',
    };
    if (env.DATABASE_URL) env.DATABASE_SCHEMA = `res_${randomBytes(3).toString('hex')}`;
    const port = await freePort();
    api = await serve('broker,ledger', port, env);
    apiUrl = `http://127.0.0.1:${port}`;
    const pport = await freePort();
    prov = await serve('provider', pport, env);
    provUrl = `http://127.0.0.1:${pport}`;
    const admin = readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim();
    provider = (await call(apiUrl, 'POST', '/participants', { token: admin, body: { role: 'provider', name: 'p' } })).body.token;
    consumer = (await call(apiUrl, 'POST', '/participants', { token: admin, body: { role: 'consumer', name: 'c' } })).body.token;
    auditor = (await call(apiUrl, 'POST', '/participants', { token: admin, body: { role: 'auditor', name: 'a' } })).body.token;
    const doc = datasetDocumentFor(SCENARIO, 'utility');
    dataset = (await call(provUrl, 'POST', '/datasets', { token: provider, body: doc })).body.id;
    rows = generateRoleRows(SCENARIO, 'utility', { rows: 30_000, seed: 11 });
    const imp = await call(provUrl, 'POST', `/datasets/${dataset}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    await generateKeyFile(join(dir, 'k'), keyRequirements(builtinScenario(SCENARIO)));
  });
  after(async () => {
    await prov?.kill();
    await api?.kill();
    redisProc?.kill('SIGKILL');
    // the queue keys lived in the Redis this test started; its schema is in the shared PostgreSQL
    await dropRunState({ databaseUrl: env.DATABASE_URL, schemas: [env.DATABASE_SCHEMA] });
    rmSync(dir, { recursive: true, force: true });
  });

  async function submit(): Promise<string> {
    const client = new DataspaceClient({ url: apiUrl, token: consumer });
    const r = await submitJob(client, readKeyFile(join(dir, 'k')), builtinScenario(SCENARIO), {
      scenario: SCENARIO,
      bindings: { utility: dataset },
      purpose: 'public-service',
    });
    return String(r.id);
  }

  async function checkResult(id: string): Promise<void> {
    const client = new DataspaceClient({ url: apiUrl, token: consumer });
    const st = await waitForJob(client, id, undefined, 200, 300_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const doc = await fetchResult(client, id, readKeyFile(join(dir, 'k')));
    const ref = evaluateReference(builtinScenario(SCENARIO), {}, { utility: rows });
    assert.deepEqual(doc.metrics.meters, ref.metrics.meters);
    const outputs = await call(apiUrl, 'GET', `/ledger/entries?job=${id}&type=job.evaluated`, { token: auditor });
    assert.equal(outputs.body.total, 1, 'evaluated exactly once in the ledger');
  }

  it('the worker process is killed in the middle of an evaluation; after a restart the job completes once, correctly', async () => {
    let worker = await serve('worker', await freePort(), env);
    const id = await submit();
    await waitUntil(
      async () => (await call(apiUrl, 'GET', `/jobs/${id}`, { token: consumer })).body.status === 'evaluating',
      120_000,
      'evaluation to start',
    );
    await worker.kill('SIGKILL');
    const mid = (await call(apiUrl, 'GET', `/jobs/${id}`, { token: consumer })).body.status;
    assert.equal(mid, 'evaluating', 'the kill happened mid-evaluation');
    worker = await serve('worker', await freePort(), env);
    try {
      await checkResult(id);
    } finally {
      await worker.kill();
    }
  });

  it('Redis restarts (losing everything) while jobs are queued and running: every accepted job completes or fails with a reason', async () => {
    const worker = await serve('worker', await freePort(), env);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await submit());
      await waitUntil(
        async () => (await call(apiUrl, 'GET', `/jobs/${ids[0]}`, { token: consumer })).body.status !== 'queued',
        60_000,
        'work to start',
      );
      // Kill Redis and bring back an empty one on the same port: queues, locks and flows are gone.
      redisProc.kill('SIGKILL');
      await new Promise((r) => redisProc.once('exit', r));
      rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
      // /health tells it on its shared connection (no connection of its own per request): 503 while Redis is away
      const down = await call(apiUrl, 'GET', '/health', {});
      assert.equal(down.status, 503, down.text);
      assert.equal(down.body.redis.up, false);
      await new Promise((r) => setTimeout(r, 1500));
      redisProc = await redis(redisPort, dir);
      await waitUntil(async () => (await call(apiUrl, 'GET', '/health', {})).status === 200, 30_000, '/health to see Redis back');
      for (const id of ids) {
        const client = new DataspaceClient({ url: apiUrl, token: consumer });
        const st = await waitForJob(client, id, undefined, 250, 300_000);
        assert.ok(st.status === 'completed' || (st.status === 'failed' && st.error?.message), `${id}: ${st.status}`);
        if (st.status === 'completed') {
          const doc = await fetchResult(client, id, readKeyFile(join(dir, 'k')));
          const ref = evaluateReference(builtinScenario(SCENARIO), {}, { utility: rows });
          assert.deepEqual(doc.metrics.meters, ref.metrics.meters);
        }
      }
    } finally {
      await worker.kill();
    }
  });

  it('a provider connector killed in the middle of its encryption task: the retried task leaves exactly one set of ciphertexts', async () => {
    const worker = await serve('worker', await freePort(), env);
    try {
      const id = await submit();
      await waitUntil(
        async () => {
          const p = (await call(apiUrl, 'GET', `/jobs/${id}`, { token: consumer })).body.progress?.providers?.utility?.status;
          return p === 'encoding' || p === 'encrypting';
        },
        120_000,
        'encryption to start',
      );
      await prov.kill('SIGKILL');
      const mid = (await call(apiUrl, 'GET', `/jobs/${id}`, { token: consumer })).body;
      assert.notEqual(mid.status, 'completed');
      prov = await serve('provider', Number(new URL(provUrl).port), env);
      await checkResult(id);
      const ev = await call(apiUrl, 'GET', `/ledger/entries?job=${id}&type=inputs.encrypted`, { token: auditor });
      assert.equal(ev.body.total, 1);
      const expected = ev.body.entries[0].event.data.ciphertexts as number;
      const stored = (await call(apiUrl, 'GET', `/jobs/${id}`, { token: consumer })).body.progress.providers.utility.ciphertexts;
      assert.equal(stored, expected);
      // a second set would have been summed too (checkResult compares with the plaintext reference); the
      // inputs themselves are deleted once the job completes
      assert.equal(await countCiphertexts(id), 0, "the role's ciphertexts went with the completed job");
    } finally {
      await worker.kill();
    }
  });

  it('an encryption task that stalled more often than the queue allows fails its job with a reason instead of leaving it waiting', async () => {
    const worker = await serve('worker', await freePort(), env);
    await prov.kill('SIGKILL');
    const { Redis } = await import('ioredis');
    const redis = new Redis(env.REDIS_URL!);
    try {
      const id = await submit();
      // the connector is down: its task waits in its queue; mark it as BullMQ's stalled-job check does once a
      // task's lock has lapsed past maxStalledCount (deferred failure, the next worker to take it fails it)
      const queue = `${env.QUEUE_PREFIX}:encrypt.local`;
      let task: string | undefined;
      await waitUntil(
        async () => {
          for (const t of await redis.lrange(`${queue}:wait`, 0, -1))
            if ((await redis.hget(`${queue}:${t}`, 'data'))?.includes(id)) task = t;
          return task !== undefined;
        },
        30_000,
        'the encryption task to be queued',
      );
      await redis.hset(`${queue}:${task}`, 'defa', 'job stalled more than allowable limit');
      prov = await serve('provider', Number(new URL(provUrl).port), env);
      const client = new DataspaceClient({ url: apiUrl, token: consumer });
      const st = await waitForJob(client, id, undefined, 200, 120_000);
      assert.equal(st.status, 'failed');
      assert.equal(st.error?.code, 'PROVIDER_FAILED');
      assert.match(String(st.error?.message), /stalled more than allowable limit/);
    } finally {
      redis.disconnect();
      await worker.kill();
    }
  });

  it('SIGTERM under load: with 20 jobs in flight the worker and the connector stop gracefully; after a restart every accepted job completes exactly once', async () => {
    // a small dataset of its own, so that 20 jobs are many in flight rather than long
    const doc = datasetDocumentFor(SCENARIO, 'utility');
    const small = (await call(provUrl, 'POST', '/datasets', { token: provider, body: { ...doc, name: `${doc.name} (small)` } })).body.id;
    const smallRows = generateRoleRows(SCENARIO, 'utility', { rows: 2_000, seed: 12 });
    const imp = await call(provUrl, 'POST', `/datasets/${small}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), smallRows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    const client = new DataspaceClient({ url: apiUrl, token: consumer });
    const keys = readKeyFile(join(dir, 'k'));
    let worker = await serve('worker', await freePort(), env);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await submitJob(client, keys, builtinScenario(SCENARIO), {
        scenario: SCENARIO,
        bindings: { utility: small },
        purpose: 'public-service',
      });
      ids.push(String(r.id));
    }
    const statusOf = async (id: string): Promise<string> => (await call(apiUrl, 'GET', `/jobs/${id}`, { token: consumer })).body.status;
    await waitUntil(async () => (await statusOf(ids[0]!)) !== 'queued', 120_000, 'work to start');
    // both stop on SIGTERM, each exiting 0 of its own accord (the kill waits for the exit; the test's timeout bounds it)
    await Promise.all([worker.kill('SIGTERM'), prov.kill('SIGTERM')]);
    assert.equal(worker.child.exitCode, 0, `the worker exited ${worker.child.exitCode} (${worker.child.signalCode}): ${worker.stderr()}`);
    assert.equal(prov.child.exitCode, 0, `the connector exited ${prov.child.exitCode} (${prov.child.signalCode})`);
    const mid = await Promise.all(ids.map(statusOf));
    assert.ok(
      mid.some((st) => st !== 'completed'),
      'jobs were still in flight at the stop',
    );
    assert.deepEqual(
      mid.filter((st) => st === 'failed' || st === 'cancelled'),
      [],
      'a graceful stop fails no job',
    );
    prov = await serve('provider', Number(new URL(provUrl).port), env);
    worker = await serve('worker', await freePort(), env);
    try {
      const ref = evaluateReference(builtinScenario(SCENARIO), {}, { utility: smallRows });
      for (const id of ids) {
        const st = await waitForJob(client, id, undefined, 200, 300_000);
        assert.equal(st.status, 'completed', JSON.stringify(st.error));
        assert.deepEqual((await fetchResult(client, id, keys)).metrics.meters, ref.metrics.meters);
        // exactly once: every usage event of the job once (no duplicate ids, one of each kind)
        const ev = await call(apiUrl, 'GET', `/ledger/entries?job=${id}&limit=1000`, { token: auditor });
        const events = (ev.body.entries as { event: { id: string; type: string } }[]).map((e) => e.event);
        assert.equal(new Set(events.map((e) => e.id)).size, events.length, `${id}: a ledger event recorded twice`);
        for (const type of ['job.submitted', 'inputs.encrypted', 'job.evaluated', 'job.released']) {
          assert.equal(events.filter((e) => e.type === type).length, 1, `${id}: ${type}`);
        }
      }
    } finally {
      await worker.kill();
    }
  });

  async function countCiphertexts(jobId: string): Promise<number> {
    const { openDatabase } = await import('#persistence');
    const ds = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR!, schema: env.DATABASE_SCHEMA });
    try {
      const r = await ds.query(
        `SELECT COUNT(*) AS n FROM job_ciphertexts WHERE job_id = '${jobId}' AND kind = 'input' AND role = 'utility'`,
      );
      return Number(r[0].n);
    } finally {
      await ds.destroy();
    }
  }
});
