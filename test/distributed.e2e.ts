import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import { openDatabase } from '#persistence';
import { builtinScenario, datasetDocumentFor, evaluateReference, generateRoleRows } from '#scenario';
import { freePort, serveProcess as serve } from './support/cli.js';
import { call } from './support/env.js';
import { toCsv } from './support/data.js';
import { dropRunState } from './support/cleanup.js';

describe('a provider connector deployed apart: its own database, HTTP and queues only', { timeout: 300_000 }, () => {
  let dir: string;
  let broker: Awaited<ReturnType<typeof serve>>;
  let connector: Awaited<ReturnType<typeof serve>>;
  let brokerUrl: string;
  let connectorUrl: string;
  const run = randomBytes(3).toString('hex');
  const common = (d: string, schema: string): NodeJS.ProcessEnv => ({
    ...process.env,
    DATA_DIR: d,
    QUEUE_PREFIX: `dsdist-${run}`,
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_URL ? { DATABASE_SCHEMA: `${schema}_${run}` } : {}),
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-dist-'));
    const bp = await freePort();
    broker = await serve('broker,ledger,worker', bp, common(join(dir, 'broker'), 'broker'));
    brokerUrl = `http://127.0.0.1:${bp}`;
    const admin = readFileSync(join(dir, 'broker', 'admin.token'), 'utf8').trim();
    const conn = await call(brokerUrl, 'POST', '/participants', {
      token: admin,
      body: { role: 'connector', name: 'utility connector', connectorId: 'utility' },
    });
    assert.equal(conn.status, 201, conn.text);
    const cp = await freePort();
    connector = await serve('provider', cp, {
      ...common(join(dir, 'connector'), 'connector'),
      BROKER_URL: brokerUrl,
      CONNECTOR_TOKEN: conn.body.token,
      CONNECTOR_ID: 'utility',
    });
    connectorUrl = `http://127.0.0.1:${cp}`;
  });
  after(async () => {
    await connector?.kill();
    await broker?.kill();
    await dropRunState({
      databaseUrl: process.env.DATABASE_URL,
      schemas: [`broker_${run}`, `connector_${run}`],
      redisUrl: process.env.REDIS_URL,
      queuePrefix: `dsdist-${run}`,
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs water-district-consumption; rows stay in the connector's database, jobs in the broker's", async () => {
    const admin = readFileSync(join(dir, 'broker', 'admin.token'), 'utf8').trim();
    const provider = (await call(brokerUrl, 'POST', '/participants', { token: admin, body: { role: 'provider', name: 'utility' } })).body
      .token;
    const consumer = (await call(brokerUrl, 'POST', '/participants', { token: admin, body: { role: 'consumer', name: 'city' } })).body
      .token;
    const id = 'water-district-consumption';
    const doc = datasetDocumentFor(id, 'utility');
    const reg = await call(connectorUrl, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    const rows = generateRoleRows(id, 'utility', { rows: 500, seed: 5 });
    const imp = await call(connectorUrl, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    const offers = await call(brokerUrl, 'GET', '/offers', { token: consumer });
    assert.equal(offers.body.find((o: { id: string }) => o.id === reg.body.id)?.rows, 500);
    await generateKeyFile(join(dir, 'k'), keyRequirements(builtinScenario(id)));
    const client = new DataspaceClient({ url: brokerUrl, token: consumer });
    const keys = readKeyFile(join(dir, 'k'));
    const sub = await submitJob(client, keys, builtinScenario(id), {
      scenario: id,
      bindings: { utility: reg.body.id },
      purpose: 'public-service',
    });
    const st = await waitForJob(client, String(sub.id), undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const result = await fetchResult(client, String(sub.id), keys);
    const ref = evaluateReference(builtinScenario(id), {}, { utility: rows });
    assert.deepEqual(result.metrics.meters, ref.metrics.meters);

    const dbOf = (d: string, schema: string) =>
      openDatabase({
        databaseUrl: process.env.DATABASE_URL,
        dataDir: join(dir, d),
        schema: process.env.DATABASE_URL ? `${schema}_${run}` : undefined,
      });
    const b = await dbOf('broker', 'broker');
    const c = await dbOf('connector', 'connector');
    try {
      assert.equal(
        Number((await b.query('SELECT COALESCE(SUM(row_count), 0) AS n FROM dataset_row_blocks'))[0].n),
        0,
        'no row at the broker',
      );
      assert.equal(Number((await c.query('SELECT COALESCE(SUM(row_count), 0) AS n FROM dataset_row_blocks'))[0].n), 500);
      assert.equal(Number((await c.query('SELECT COUNT(*) AS n FROM jobs'))[0].n), 0, 'no job state at the connector');
      assert.equal(Number((await b.query('SELECT COUNT(*) AS n FROM jobs'))[0].n), 1);
    } finally {
      await b.destroy();
      await c.destroy();
    }
  });
});
