/**
 * The connector protocol (`#contracts`, connector.ts) between a broker and a connector deployed apart: the
 * connector checks every document the broker sends it, so a job document that is not what the protocol says
 * (here rewritten by a proxy between them) is refused, naming its JSON path, and nothing is encrypted; and the
 * broker answers a call about a job that does not exist with 404, which the connector's HTTP client reads as
 * "no such job" where the port says so and as a refusal anywhere else.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connectorJobSchema } from '#contracts';
import { JobCiphertextEntity } from '#persistence';
import { DataspaceClient, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import { builtinScenario, datasetDocumentFor, generateRoleRows } from '#scenario';
import { BrokerCallError, HttpBrokerLink } from '../apps/provider/src/broker-link.js';
import { call, startTestServer, testConfig } from './support/env.js';
import { toCsv } from './support/data.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** Forwards every request to `target`; while `tamper` is set, a job document is rewritten on its way to the connector. */
function proxy(target: string, tamper: (doc: Record<string, unknown>) => void): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k)),
        ) as Record<string, string>;
        const body = chunks.length ? Buffer.concat(chunks) : undefined;
        const r = await fetch(target + req.url, { method: req.method, headers, body: body as RequestInit['body'] });
        let out = Buffer.from(await r.arrayBuffer());
        if (req.method === 'GET' && /^\/connector\/jobs\/[^/]+$/.test(req.url ?? '') && r.ok) {
          const doc = JSON.parse(out.toString('utf8')) as Record<string, unknown>;
          tamper(doc);
          out = Buffer.from(JSON.stringify(doc));
        }
        const type = r.headers.get('content-type');
        res.writeHead(r.status, type ? { 'content-type': type } : {});
        res.end(out);
      })().catch((e: unknown) => {
        res.writeHead(502);
        res.end(String(e));
      });
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })),
  );
}

describe('the connector protocol between a broker and a connector deployed apart', { timeout: 300_000 }, () => {
  let broker: TestServer;
  let connector: TestServer;
  let relay: Server;
  let dir: string;
  let connectorToken: string;
  const connectorId = `apart-${randomBytes(3).toString('hex')}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ds-protocol-'));
    broker = await startTestServer({ apps: ['broker', 'ledger', 'worker'] });
    const cred = await call(broker.url, 'POST', '/participants', {
      token: broker.adminToken,
      body: { role: 'connector', name: 'connector apart', connectorId },
    });
    assert.equal(cred.status, 201, cred.text);
    connectorToken = cred.body.token;
    const p = await proxy(broker.url, (doc) => {
      const plan = doc.plan as { roles: Record<string, { features: { value: unknown }[] }> };
      for (const work of Object.values(plan.roles)) work.features[0]!.value = { kind: 'exfiltrate', column: 'meter_id' };
    });
    relay = p.server;
    connector = await startTestServer({
      apps: ['provider'],
      config: testConfig({
        QUEUE_PREFIX: broker.config.QUEUE_PREFIX,
        BROKER_URL: p.url,
        CONNECTOR_TOKEN: connectorToken,
        CONNECTOR_ID: connectorId,
      }),
    });
  });
  after(async () => {
    await connector?.cleanup();
    await broker?.cleanup();
    relay?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a malformed job document from the broker is refused by the connector, naming its JSON path; nothing is encrypted', async () => {
    const provider = (
      await call(broker.url, 'POST', '/participants', { token: broker.adminToken, body: { role: 'provider', name: 'utility' } })
    ).body.token;
    const consumer = (
      await call(broker.url, 'POST', '/participants', { token: broker.adminToken, body: { role: 'consumer', name: 'city' } })
    ).body.token;
    const id = 'water-district-consumption';
    const doc = datasetDocumentFor(id, 'utility');
    const reg = await call(connector.url, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    const rows = generateRoleRows(id, 'utility', { rows: 200, seed: 5 });
    const imp = await call(connector.url, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(doc.columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    await generateKeyFile(join(dir, 'k'), keyRequirements(builtinScenario(id)));
    const client = new DataspaceClient({ url: broker.url, token: consumer });
    const sub = await submitJob(client, readKeyFile(join(dir, 'k')), builtinScenario(id), {
      scenario: id,
      bindings: { utility: reg.body.id },
      purpose: 'public-service',
    });
    const jobId = String(sub.id);
    const st = await waitForJob(client, jobId, undefined, 200, 120_000);
    assert.equal(st.status, 'failed');
    const error = st.error as { code: string; details: { code: string; message: string }[] };
    assert.equal(error.code, 'PROVIDER_REFUSED', JSON.stringify(error));
    assert.deepEqual(
      error.details.map((d) => d.code),
      ['MALFORMED_JOB'],
    );
    assert.match(error.details[0]!.message, /^the broker's job document is malformed: \$\.plan\.roles\.utility\.features\[0\]\.value/);
    assert.equal(await broker.dataSource.getRepository(JobCiphertextEntity).countBy({ jobId }), 0, 'no ciphertext uploaded');

    // The same job, read from the broker directly (no proxy), is a valid document the connector accepts.
    const link = new HttpBrokerLink(broker.url, connectorToken);
    const job = await link.job(jobId);
    assert.ok(job);
    assert.equal(connectorJobSchema.safeParse(job).success, true);
    assert.ok(job.plan.roles.utility, 'the plan has work for the connector'); // the job document as the broker sends it
  });

  it("a job that does not exist: 404 at the broker; null from the connector's job look-up, a refusal from every call that acts on it", async () => {
    const raw = await call(broker.url, 'GET', '/connector/jobs/no-such-job', { token: connectorToken });
    assert.equal(raw.status, 404, raw.text);
    assert.equal(raw.body.error, 'NOT_FOUND');
    const link = new HttpBrokerLink(broker.url, connectorToken);
    assert.equal(await link.job('no-such-job'), null);
    assert.equal(await link.psiMatches('no-such-job', 'utility'), null);
    await link.reportProgress('no-such-job', 'utility', { status: 'encoding' }); // as in process: nothing to report on
    const notFound = (e: unknown): boolean => e instanceof BrokerCallError && e.status === 404 && e.code === 'NOT_FOUND';
    await assert.rejects(link.beginUpload('no-such-job', 'utility'), notFound);
    await assert.rejects(
      link.commitUpload('no-such-job', 'utility', { rows: 0, groupCounts: {}, missingKeys: 0, skippedRows: 0, ciphertexts: 0, bytes: 0 }),
      notFound,
    );
    await assert.rejects(link.reportRefusal('no-such-job', 'utility', [{ code: 'X', message: 'x' }]), notFound);
    await assert.rejects(link.reportFailure('no-such-job', 'utility', 'x'), notFound);
    await assert.rejects(link.publicKeyset('no-such-keyset'), notFound);
    await assert.rejects(link.psiSubmit('no-such-job', 'utility', 0, 1, new Uint8Array(32)), notFound);
  });
});
