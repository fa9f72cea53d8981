import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { QueueName } from '#contracts';
import { ckksParamsForDepth, encodePublicKeyset, keysetFingerprint } from '#he-core';
import { ScenarioEntity, isPostgresUrl, storedRowCount } from '#persistence';
import { DataspaceClient, fetchResult, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import {
  type Row,
  type Scenario,
  builtinScenario,
  builtinScenarios,
  catalogPurpose,
  compareResult,
  datasetDocumentFor,
  defaultParams,
  evaluateReference,
  generateRoleRows,
} from '#scenario';
import { call, drainQueue, startTestServer, testConfig } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

interface Upload {
  status: number;
  code: string;
  sentWhenAnswered: number;
  total: number;
}

/**
 * Sends a `total`-byte JSON body in 1 MiB chunks, honouring back-pressure, and stops writing once the server has
 * answered. `whileInFlight` runs once the first chunk is out, i.e. while the upload is in flight.
 */
function bigUpload(
  base: string,
  path: string,
  total: number,
  headers: Record<string, string>,
  whileInFlight: () => Promise<void>,
): Promise<Upload & { during: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    let sent = 0;
    let answered = false;
    let during: Promise<void> = Promise.resolve();
    // '[' then spaces: a valid prefix of a JSON document, so only its size matters
    const firstChunk = Buffer.concat([Buffer.from('['), Buffer.alloc(1024 * 1024 - 1, 0x20)]);
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(total) },
    });
    req.on('response', (res) => {
      answered = true;
      const sentWhenAnswered = sent;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => {
        let code: string;
        try {
          code = (JSON.parse(text) as { error: string }).error;
        } catch {
          code = text;
        }
        resolve({ status: res.statusCode ?? 0, code, sentWhenAnswered, total, during });
        req.destroy();
      });
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    let first = true;
    const pump = (): void => {
      while (!answered && sent < total) {
        const part = (first ? firstChunk : chunk).subarray(0, Math.min(chunk.length, total - sent));
        sent += part.length;
        const more = req.write(part);
        if (first) {
          first = false;
          during = whileInFlight();
        }
        if (!more) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered && sent >= total) req.end();
    };
    pump();
  });
}

describe('edge security: authentication before body parsing, body limits, rate limits', () => {
  let s: Server;
  let consumer: string;
  before(async () => {
    s = await startTestServer();
    const r = await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'edge lab' } });
    assert.equal(r.status, 201, r.text);
    consumer = r.body.token;
  });
  after(async () => s.cleanup());

  it('a 60 MB unauthenticated JSON body gets its 401 without being read, and /health answers while it is in flight', async () => {
    const before = (await s.dataSource.query('SELECT COUNT(*) AS n FROM participants')) as { n: number | string }[];
    let healthMs = -1;
    let healthStatus = 0;
    const up = await bigUpload(s.url, '/participants', 60 * 1024 * 1024, {}, async () => {
      const t0 = performance.now();
      const h = await call(s.url, 'GET', '/health');
      healthMs = performance.now() - t0;
      healthStatus = h.status;
    });
    await up.during;
    assert.equal(up.status, 401);
    assert.equal(up.code, 'UNAUTHENTICATED');
    // answered long before the body was sent: it was never buffered, let alone parsed
    assert.ok(up.sentWhenAnswered < up.total / 2, `answered after ${up.sentWhenAnswered} of ${up.total} bytes`);
    assert.equal(healthStatus, 200);
    console.log(
      `# /health answered in ${healthMs.toFixed(1)} ms with a 60 MB unauthenticated body in flight (401 after ${up.sentWhenAnswered} bytes sent)`,
    );
    // the figure is 200 ms; allow for a loaded test machine without letting a parse (seconds) through
    assert.ok(healthMs < 1000, `/health took ${healthMs} ms`);
    const afterRows = (await s.dataSource.query('SELECT COUNT(*) AS n FROM participants')) as { n: number | string }[];
    assert.equal(Number(afterRows[0]!.n), Number(before[0]!.n));
  });

  it('streamed routes (keysets, row imports) refuse an unauthenticated 60 MB upload before reading it', async () => {
    for (const path of ['/keysets', '/datasets/00000000-0000-0000-0000-000000000000/rows']) {
      const up = await bigUpload(s.url, path, 60 * 1024 * 1024, {}, async () => undefined);
      assert.equal(up.status, 401, path);
      assert.ok(up.sentWhenAnswered < up.total / 2, `${path}: answered after ${up.sentWhenAnswered} bytes`);
    }
    const declared = await bigUpload(s.url, '/keysets', 300 * 1024 * 1024, { authorization: `Bearer ${consumer}` }, async () => undefined);
    assert.equal(declared.status, 413, 'a keyset declared over MAX_KEYSET_BYTES is refused before it is read');
    assert.ok(declared.sentWhenAnswered < declared.total / 2);
  });

  it('an authenticated JSON body over the route limit gets 413 before it is read (default 1 MB)', async () => {
    const up = await bigUpload(
      s.url,
      '/participants',
      20 * 1024 * 1024,
      { authorization: `Bearer ${s.adminToken}` },
      async () => undefined,
    );
    assert.equal(up.status, 413);
    assert.equal(up.code, 'PAYLOAD_TOO_LARGE');
    assert.ok(up.sentWhenAnswered < up.total / 2);
    // just over 1 MB, sent whole and without a declared length: still refused
    const big = JSON.stringify({ role: 'consumer', name: 'x'.repeat(1024 * 1024 + 10) });
    const r = await call(s.url, 'POST', '/participants', {
      token: s.adminToken,
      raw: big,
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(r.status, 413);
    assert.equal(r.body.error, 'PAYLOAD_TOO_LARGE');
  });

  it('a non-JSON body is left to its route: the JSON limit does not apply to it', async () => {
    // an octet-stream body over 1 MB to a JSON route is not read as JSON (and so not refused as too large JSON)
    const r = await call(s.url, 'POST', '/participants', {
      token: s.adminToken,
      raw: new Uint8Array(2 * 1024 * 1024),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, 'VALIDATION_FAILED');
  });

  it('scenario registration takes a larger body than the default (its own limit)', async () => {
    // 1.5 MB of JSON: over the default, under MAX_SCENARIO_BYTES, so it reaches validation (400, not 413)
    const doc = { id: 'big-doc', title: 'x'.repeat(1536 * 1024) };
    const r = await call(s.url, 'POST', '/scenarios', { token: consumer, body: doc });
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(r.body.error, 'VALIDATION_FAILED');
  });

  it('a wrong role is refused before the body is read', async () => {
    const up = await bigUpload(s.url, '/participants', 30 * 1024 * 1024, { authorization: `Bearer ${consumer}` }, async () => undefined);
    assert.equal(up.status, 403);
    assert.ok(up.sentWhenAnswered < up.total / 2);
  });
});

describe('edge security: rate limits per address and per credential', () => {
  let s: Server;
  before(async () => {
    s = await startTestServer({
      config: testConfig({ RATE_LIMIT_PER_ADDRESS: '40', RATE_LIMIT_PER_CREDENTIAL: '10', RATE_LIMIT_WINDOW_MS: '60000' }),
    });
  });
  after(async () => s.cleanup());

  it('one credential is held to its limit (429 RATE_LIMITED), another credential is not, /health is never limited', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await call(s.url, 'GET', '/participants/me', { token: s.adminToken })).status);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
    const last = await call(s.url, 'GET', '/participants/me', { token: s.adminToken });
    assert.equal(last.status, 429);
    assert.equal(last.body.error, 'RATE_LIMITED');
    // an unknown token is a different credential: 401, not 429 (its own count)
    assert.equal((await call(s.url, 'GET', '/participants/me', { token: 'dst_other' })).status, 401);
    assert.equal((await call(s.url, 'GET', '/health')).status, 200);
  });

  it('one address is held to its limit whatever tokens it sends (guessing tokens is limited too)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await call(s.url, 'GET', '/participants/me', { token: `dst_guess${i}` })).status);
    assert.ok(statuses.includes(429), statuses.join(','));
    assert.ok(statuses.slice(0, 20).every((x) => x === 401));
  });
});

/** Waits until the ledger queue has nothing waiting, delayed or in flight. */
function drainLedger(s: Server): Promise<void> {
  return drainQueue(s.queues, QueueName.ledger);
}

const TABLES = [
  'participants',
  'datasets',
  'dataset_row_blocks',
  'offers',
  'scenarios',
  'keysets',
  'jobs',
  'job_datasets',
  'job_ciphertexts',
  'budgets',
  'ledger_entries',
];

/** Row counts of every table, after the ledger has recorded everything queued: "nothing changed" is equality. */
async function snapshot(s: Server): Promise<Record<string, number>> {
  await drainLedger(s);
  const out: Record<string, number> = {};
  for (const t of TABLES) out[t] = Number(((await s.dataSource.query(`SELECT COUNT(*) AS n FROM ${t}`)) as { n: number | string }[])[0]!.n);
  return out;
}

const waterDoc = datasetDocumentFor('water-district-consumption', 'utility');
const WATER_HEADER = Object.keys(waterDoc.columns).join(',');
const waterScenario = (): Record<string, unknown> =>
  structuredClone(builtinScenarios().find((x) => x.id === 'water-district-consumption')) as unknown as Record<string, unknown>;

describe('edge security: every bad input a 4xx with a code, nothing changed, no ledger event', () => {
  let s: Server;
  let provider: string;
  let consumer: string;
  let auditor: string;
  let connector: string;
  let datasetId: string;
  before(async () => {
    s = await startTestServer();
    const add = async (role: string, name: string): Promise<string> => {
      // a connector credential is bound to its connector id
      const r = await call(s.url, 'POST', '/participants', {
        token: s.adminToken,
        body: { role, name, ...(role === 'connector' ? { connectorId: 'edge' } : {}) },
      });
      assert.equal(r.status, 201, r.text);
      return r.body.token as string;
    };
    provider = await add('provider', 'utility');
    consumer = await add('consumer', 'city lab');
    auditor = await add('auditor', 'audit office');
    connector = await add('connector', 'edge connector');
    const r = await call(s.url, 'POST', '/datasets', { token: provider, body: waterDoc });
    assert.equal(r.status, 201, r.text);
    datasetId = r.body.id;
  });
  after(async () => s.cleanup());

  const NUL = 'a\u0000b';
  const LONG = 'x'.repeat(300);

  it('NUL bytes in names, ids, bindings and the ledger filter: 400 with a code, nothing stored, no event', async () => {
    const before = await snapshot(s);
    const scenario = { ...waterScenario(), id: 'nul-test', title: `title ${NUL}` };
    const cases: [string, string, string, Record<string, unknown> | undefined][] = [
      ['admin', 'POST', '/participants', { role: 'consumer', name: NUL }],
      ['provider', 'POST', '/datasets', { ...waterDoc, name: NUL }],
      ['provider', 'POST', '/datasets', { ...waterDoc, policy: { ...waterDoc.policy, purposes: [NUL] } }],
      ['provider', 'POST', '/datasets', { ...waterDoc, columns: { ...waterDoc.columns, [NUL]: { type: 'number', min: 0, max: 1 } } }],
      ['consumer', 'POST', '/scenarios', scenario],
      ['consumer', 'POST', '/scenarios', { ...waterScenario(), id: NUL }],
      [
        'consumer',
        'POST',
        '/jobs',
        { scenario: 'water-district-consumption', bindings: { utility: NUL }, keyset: 'a'.repeat(64), purpose: 'public-service' },
      ],
      ['consumer', 'POST', '/jobs', { scenario: NUL, bindings: { utility: datasetId }, keyset: 'a'.repeat(64), purpose: 'public-service' }],
      [
        'consumer',
        'POST',
        '/jobs',
        { scenario: 'water-district-consumption', bindings: { [NUL]: datasetId }, keyset: 'a'.repeat(64), purpose: NUL },
      ],
      [
        'consumer',
        'POST',
        '/jobs?dryRun=true',
        { scenario: 'water-district-consumption', bindings: { utility: datasetId }, keyset: 'a'.repeat(64), purpose: NUL },
      ],
      ['auditor', 'GET', `/ledger/entries?job=${encodeURIComponent(NUL)}`, undefined],
      ['auditor', 'GET', `/ledger/entries?type=${encodeURIComponent(NUL)}`, undefined],
      ['auditor', 'GET', `/ledger/entries?dataset=${encodeURIComponent(NUL)}`, undefined],
      ['consumer', 'GET', `/ledger/entries?purpose=${encodeURIComponent(NUL)}`, undefined],
      ['consumer', 'GET', `/jobs/${encodeURIComponent(NUL)}`, undefined],
      ['consumer', 'GET', `/scenarios/${encodeURIComponent(NUL)}`, undefined],
      ['consumer', 'GET', `/keysets/${encodeURIComponent(NUL)}`, undefined],
      ['provider', 'GET', `/datasets/${encodeURIComponent(NUL)}`, undefined],
      ['provider', 'POST', `/datasets/${encodeURIComponent(NUL)}/rows`, undefined],
      ['connector', 'PUT', `/connector/jobs/${encodeURIComponent(NUL)}/psi/k`, undefined],
      ['connector', 'POST', `/connector/jobs/${encodeURIComponent(NUL)}/inputs/utility/begin`, {}],
    ];
    const tokens: Record<string, string> = { admin: s.adminToken, provider, consumer, auditor, connector };
    for (const [who, method, path, body] of cases) {
      const r = await call(s.url, method, path, {
        token: tokens[who]!,
        ...(body ? { body } : method === 'GET' ? {} : { raw: 'x', headers: { 'content-type': 'application/octet-stream' } }),
      });
      assert.ok(r.status >= 400 && r.status < 500, `${method} ${path}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(typeof r.body?.error, 'string', `${method} ${path}: ${r.text.slice(0, 200)}`);
    }
    assert.deepEqual(await snapshot(s), before);
  });

  it('300-character ids on every kind of route: 4xx with a code, nothing stored', async () => {
    const before = await snapshot(s);
    const routes: [string, string, string][] = [
      ['consumer', 'GET', `/jobs/${LONG}`],
      ['consumer', 'POST', `/jobs/${LONG}/cancel`],
      ['consumer', 'GET', `/jobs/${LONG}/result`],
      ['consumer', 'GET', `/scenarios/${LONG}`],
      ['consumer', 'GET', `/keysets/${LONG}`],
      ['provider', 'GET', `/datasets/${LONG}`],
      ['provider', 'POST', `/datasets/${LONG}/rows`],
      ['connector', 'GET', `/connector/jobs/${LONG}`],
      ['connector', 'PUT', `/connector/jobs/${LONG}/psi/${LONG}`],
      ['connector', 'POST', `/connector/jobs/${LONG}/inputs/${LONG}/begin`],
      ['connector', 'PUT', `/connector/jobs/${LONG}/inputs/utility/parts`],
      ['connector', 'POST', `/connector/jobs/${LONG}/roles/utility/failure`],
      ['connector', 'PUT', `/connector/offers/${LONG}`],
    ];
    const tokens: Record<string, string> = { provider, consumer, connector };
    for (const [who, method, path] of routes) {
      const r = await call(s.url, method, path, {
        token: tokens[who]!,
        ...(method === 'GET' ? {} : { raw: 'x', headers: { 'content-type': 'application/octet-stream' } }),
      });
      assert.ok(r.status >= 400 && r.status < 500, `${method} ${path.slice(0, 60)}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(typeof r.body?.error, 'string');
    }
    assert.deepEqual(await snapshot(s), before);
  });

  it('epsilon 1e-320 and column bounds ±1e308 are refused (400 with paths), nothing stored', async () => {
    const before = await snapshot(s);
    const eps = await call(s.url, 'POST', '/datasets', {
      token: provider,
      body: { ...waterDoc, policy: { ...waterDoc.policy, epsilonBudget: 1e-320 } },
    });
    assert.equal(eps.status, 400, eps.text);
    assert.ok(
      eps.body.details.some((d: { path: string }) => d.path.includes('epsilonBudget')),
      eps.text,
    );
    const bounds = await call(s.url, 'POST', '/datasets', {
      token: provider,
      body: { ...waterDoc, columns: { ...waterDoc.columns, m3: { type: 'number', min: -1e308, max: 1e308 } } },
    });
    assert.equal(bounds.status, 400, bounds.text);
    assert.ok(
      bounds.body.details.some((d: { path: string }) => d.path.includes('m3')),
      bounds.text,
    );
    const noise = await call(s.url, 'POST', '/scenarios', {
      token: consumer,
      body: { ...waterScenario(), id: 'tiny-eps', release: { minGroupSize: 5, noise: { mechanism: 'laplace', epsilon: 1e-320 } } },
    });
    assert.equal(noise.status, 400, noise.text);
    const wide = waterScenario() as { id: string; inputs: { utility: { columns: Record<string, unknown> } } };
    wide.id = 'wide-bounds';
    wide.inputs.utility.columns.m3 = { type: 'number', min: -1e308, max: 1e308 };
    const w = await call(s.url, 'POST', '/scenarios', { token: consumer, body: wide });
    assert.equal(w.status, 400, w.text);
    assert.deepEqual(await snapshot(s), before);
  });

  it('keysets are loaded with their declared parameters at upload: garbage key data 422, a zlib bomb 413 without inflating it', async () => {
    const before = await snapshot(s);
    const sealObject = (body: Uint8Array, mode: number): Uint8Array => {
      const out = new Uint8Array(16 + body.length);
      const v = new DataView(out.buffer);
      v.setUint16(0, 0xa15e, true);
      out[2] = 0x10;
      out[3] = 4;
      out[5] = mode;
      v.setBigUint64(8, BigInt(out.length), true);
      out.set(body, 16);
      return out;
    };
    const keyset = (publicKey: Uint8Array): Uint8Array => {
      const k = { params: ckksParamsForDepth(1), publicKey, relinKeys: null, galoisKeys: null, galoisSteps: [] };
      return encodePublicKeyset({ ...k, fingerprint: keysetFingerprint(k) });
    };
    const garbage = keyset(
      sealObject(
        new Uint8Array(200_000).map((_, i) => (i * 7919) & 0xff),
        0,
      ),
    );
    const g = await call(s.url, 'POST', '/keysets', {
      token: consumer,
      raw: garbage,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(g.status, 422, g.text);
    assert.equal(g.body.error, 'UNPROCESSABLE');
    const bomb = keyset(sealObject(deflateSync(Buffer.alloc(200 * 1024 * 1024)), 1));
    assert.ok(bomb.length < 1024 * 1024, `the bomb is ${bomb.length} bytes on the wire`);
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const b = await call(s.url, 'POST', '/keysets', {
      token: consumer,
      raw: bomb,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const ms = performance.now() - t0;
    assert.equal(b.status, 413, b.text);
    assert.equal(b.body.error, 'PAYLOAD_TOO_LARGE');
    assert.ok(process.memoryUsage().rss - rss0 < 150 * 1024 * 1024, 'the bomb was not inflated whole');
    console.log(`# zlib bomb (200 MB inflated, ${bomb.length} bytes sent) refused in ${ms.toFixed(0)} ms`);
    assert.deepEqual(await snapshot(s), before);
  });

  it('fuzz: NUL bytes, huge and tiny numbers, long strings across JSON routes find no 5xx', async () => {
    const before = await snapshot(s);
    const weird: unknown[] = [
      '\u0000',
      'a\u0000',
      LONG,
      'x'.repeat(5000),
      1e308,
      -1e308,
      1e-320,
      -0,
      2 ** 53 + 1,
      Number.MAX_SAFE_INTEGER,
      -1,
      0,
      null,
      true,
      [],
      {},
      [1e308],
      { '\u0000': 1 },
    ];
    const bases: [string, string, string, Record<string, unknown>][] = [
      ['admin', 'POST', '/participants', { role: 'consumer', name: 'n' }],
      ['provider', 'POST', '/datasets', waterDoc as unknown as Record<string, unknown>],
      ['consumer', 'POST', '/scenarios', { ...waterScenario(), id: 'fuzz-scenario' }],
      [
        'consumer',
        'POST',
        '/jobs',
        { scenario: 'water-district-consumption', bindings: { utility: datasetId }, keyset: 'a'.repeat(64), purpose: 'public-service' },
      ],
      [
        'consumer',
        'POST',
        '/jobs?dryRun=true',
        { scenario: 'water-district-consumption', bindings: { utility: datasetId }, keyset: 'a'.repeat(64), purpose: 'public-service' },
      ],
      ['auditor', 'POST', '/ledger/nodes', { keys: [{ level: 0, index: 0 }] }],
      ['connector', 'PUT', `/connector/offers/${datasetId}-fuzz`, { name: 'n' }],
    ];
    const tokens: Record<string, string> = { admin: s.adminToken, provider, consumer, auditor, connector };
    const fives: string[] = [];
    let n = 0;
    for (const [who, method, path, base] of bases) {
      for (const key of Object.keys(base)) {
        for (const v of weird) {
          const r = await call(s.url, method, path, { token: tokens[who]!, body: { ...base, [key]: v } });
          n++;
          if (r.status >= 500)
            fives.push(`${method} ${path} ${key}=${JSON.stringify(v)?.slice(0, 40)}: ${r.status} ${r.text.slice(0, 120)}`);
          else if (r.status >= 400) assert.equal(typeof r.body?.error, 'string');
        }
      }
    }
    for (const q of ['job', 'dataset', 'consumer', 'type', 'purpose', 'from', 'to', 'offset', 'limit']) {
      for (const v of ['\u0000', LONG, '1e308', '-1', '99999999999999999999', 'NaN']) {
        const r = await call(s.url, 'GET', `/ledger/entries?${q}=${encodeURIComponent(v)}`, { token: auditor });
        n++;
        if (r.status >= 500) fives.push(`GET /ledger/entries ${q}=${v.slice(0, 20)}: ${r.status}`);
      }
    }
    for (const v of ['\u0000', LONG, '1e308', '-1', '0', '1.5', 'NaN']) {
      const r = await call(s.url, 'GET', `/scenarios/water-district-consumption?version=${encodeURIComponent(v)}`, { token: consumer });
      n++;
      if (r.status >= 500) fives.push(`GET /scenarios version=${v.slice(0, 20)}: ${r.status}`);
    }
    console.log(`# fuzz: ${n} requests, ${fives.length} answered 5xx`);
    assert.deepEqual(fives, []);
    // the fuzz may register things that are valid (a participant named "-1"...), but never a half-done action:
    // every ledger event has its row, so compare only what bad input could have broken
    const after = await snapshot(s);
    assert.equal(after.jobs, before.jobs);
    assert.equal(after.keysets, before.keysets);
  });
});

describe('edge security: scenario ownership, data at rest, concurrent appends', () => {
  let s: Server;
  let dataRoot: string;
  let provider: string;
  let consumerA: string;
  let consumerB: string;
  before(async () => {
    // A DATA_DIR that does not exist yet, so the server creates it.
    const base = testConfig();
    dataRoot = base.dataDir;
    s = await startTestServer({ config: testConfig({ DATA_DIR: join(base.dataDir, 'nested', 'data') }) });
    const add = async (role: string, name: string): Promise<string> =>
      (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role, name } })).body.token as string;
    provider = await add('provider', 'utility');
    consumerA = await add('consumer', 'owner lab');
    consumerB = await add('consumer', 'other lab');
  });
  after(async () => {
    await s.cleanup();
    rmSync(dataRoot, { recursive: true, force: true });
  });

  const versions = async (id: string): Promise<number> =>
    Number(
      (
        (await s.dataSource.query(
          s.dataSource.options.type === 'postgres'
            ? 'SELECT COUNT(*) AS n FROM scenarios WHERE id = $1'
            : 'SELECT COUNT(*) AS n FROM scenarios WHERE id = ?',
          [id],
        )) as { n: number | string }[]
      )[0]!.n,
    );

  it("a scenario version is published only by the scenario's owner; built-ins only by an administrator", async () => {
    const doc = { ...waterScenario(), id: 'owned-scenario' };
    const v1 = await call(s.url, 'POST', '/scenarios', { token: consumerA, body: doc });
    assert.equal(v1.status, 201, v1.text);
    assert.equal(v1.body.version, 1);
    const before = await snapshot(s);
    const hijack = await call(s.url, 'POST', '/scenarios', { token: consumerB, body: { ...doc, title: 'hijacked' } });
    assert.equal(hijack.status, 403, hijack.text);
    assert.equal(hijack.body.error, 'FORBIDDEN');
    const provHijack = await call(s.url, 'POST', '/scenarios', { token: provider, body: { ...doc, title: 'hijacked' } });
    assert.equal(provHijack.status, 403);
    const builtin = await call(s.url, 'POST', '/scenarios', { token: consumerA, body: { ...waterScenario(), title: 'hijacked built-in' } });
    assert.equal(builtin.status, 403, builtin.text);
    assert.deepEqual(await snapshot(s), before, 'no version stored, no ledger event');
    assert.equal(await versions('owned-scenario'), 1);
    assert.equal(
      (await call(s.url, 'GET', '/scenarios/water-district-consumption', { token: consumerB })).body.document.title,
      waterScenario().title,
    );
    const v2 = await call(s.url, 'POST', '/scenarios', { token: consumerA, body: { ...doc, title: 'second version' } });
    assert.equal(v2.status, 201, v2.text);
    assert.equal(v2.body.version, 2);
    const admin = await call(s.url, 'POST', '/scenarios', {
      token: s.adminToken,
      body: { ...waterScenario(), title: 'an administrator may' },
    });
    assert.equal(admin.status, 201, admin.text);
    assert.equal(admin.body.version, 2);
  });

  it('concurrent versions of one scenario: every stored version has exactly one ledger event, every refusal none (no 5xx)', async () => {
    const doc = { ...waterScenario(), id: 'raced-scenario' };
    const rs = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => call(s.url, 'POST', '/scenarios', { token: consumerA, body: { ...doc, title: `version ${i}` } })),
    );
    for (const r of rs) assert.ok(r.status === 201 || r.status === 409, `${r.status} ${r.text}`);
    await drainLedger(s);
    const stored = await versions('raced-scenario');
    const events = Number(
      (
        (await s.dataSource.query(
          s.dataSource.options.type === 'postgres'
            ? 'SELECT COUNT(*) AS n FROM ledger_entries WHERE type = $1 AND body LIKE $2'
            : 'SELECT COUNT(*) AS n FROM ledger_entries WHERE type = ? AND body LIKE ?',
          ['scenario.registered', '%raced-scenario%'],
        )) as { n: number | string }[]
      )[0]!.n,
    );
    assert.equal(stored, rs.filter((r) => r.status === 201).length);
    assert.equal(events, stored, 'one event per committed version, none for a rolled-back one');
  });

  it('DATA_DIR is created 0700 and the SQLite database files are 0600', () => {
    assert.equal(statSync(s.config.dataDir).mode & 0o777, 0o700);
    if (isPg()) return;
    for (const f of readdirSync(s.config.dataDir).filter((n) => n.startsWith('dataspace.sqlite'))) {
      assert.equal(statSync(join(s.config.dataDir, f)).mode & 0o777, 0o600, f);
    }
    assert.ok(readdirSync(s.config.dataDir).includes('dataspace.sqlite'));
  });

  it('five parallel 2,000-row appends record 10,000 more rows, exactly what is stored', async () => {
    const r = await call(s.url, 'POST', '/datasets', { token: provider, body: waterDoc });
    assert.equal(r.status, 201, r.text);
    const id = r.body.id as string;
    const csv = (tag: string, n: number): string =>
      `${WATER_HEADER}\n` + Array.from({ length: n }, (_, i) => `${tag}-${i},shinan,${(i % 50) / 2},0.01`).join('\n') + '\n';
    assert.equal(
      (
        await call(s.url, 'POST', `/datasets/${id}/rows`, {
          token: provider,
          raw: csv('init', 306),
          headers: { 'content-type': 'text/csv' },
        })
      ).status,
      200,
    );
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((k) =>
        call(s.url, 'POST', `/datasets/${id}/rows`, { token: provider, raw: csv(`p${k}`, 2000), headers: { 'content-type': 'text/csv' } }),
      ),
    );
    for (const x of results) assert.equal(x.status, 200, x.text);
    const view = await call(s.url, 'GET', `/datasets/${id}`, { token: provider });
    assert.equal(view.body.rows, 10_306);
    assert.equal(await storedRowCount(s.dataSource, id), 10_306);
    const offer = Number(
      (
        (await s.dataSource.query(
          s.dataSource.options.type === 'postgres'
            ? 'SELECT row_count AS n FROM offers WHERE dataset_id = $1'
            : 'SELECT row_count AS n FROM offers WHERE dataset_id = ?',
          [id],
        )) as { n: number | string }[]
      )[0]!.n,
    );
    assert.equal(offer, 10_306, 'the catalog offer carries the same count');
  });
});

function isPg(): boolean {
  return isPostgresUrl(process.env.DATABASE_URL);
}

describe('edge security: cost ceiling', () => {
  let s: Server;
  let provider: string;
  let consumer: string;
  let datasetId: string;
  before(async () => {
    s = await startTestServer({ config: testConfig({ MAX_JOB_SECONDS: '0.000001' }) });
    const add = async (role: string, name: string): Promise<string> =>
      (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role, name } })).body.token as string;
    provider = await add('provider', 'utility');
    consumer = await add('consumer', 'cost lab');
    const r = await call(s.url, 'POST', '/datasets', { token: provider, body: waterDoc });
    assert.equal(r.status, 201, r.text);
    datasetId = r.body.id;
  });
  after(async () => s.cleanup());

  /** The scenario: 3,000 metrics over 64 x 64 = 4,096 groups (about 180 KB of JSON). */
  const costBomb = (id: string): Record<string, unknown> => {
    const values = Array.from({ length: 64 }, (_, i) => `v${i}`);
    return {
      id,
      title: 'cost bomb',
      inputs: {
        utility: { columns: { a: { type: 'category', values }, b: { type: 'category', values }, m3: { type: 'number', min: 0, max: 50 } } },
      },
      metrics: Array.from({ length: 3000 }, (_, i) => ({ name: `m${i}`, agg: 'sum', of: 'utility.m3', by: ['utility.a', 'utility.b'] })),
    };
  };

  it('the 3,000-metric, 4,096-group scenario is refused at registration by the validation bounds, fast, nothing stored', async () => {
    const before = await snapshot(s);
    const t0 = performance.now();
    const r = await call(s.url, 'POST', '/scenarios', { token: consumer, body: costBomb('cost-bomb') });
    const ms = performance.now() - t0;
    assert.equal(r.status, 400, r.text.slice(0, 300));
    assert.equal(r.body.details[0].code, 'too_many_metrics');
    console.log(`# 3,000-metric scenario refused at registration in ${ms.toFixed(1)} ms (issue: under 100 ms)`);
    assert.ok(ms < 1000, `${ms} ms`);
    assert.deepEqual(await snapshot(s), before);
  });

  it('a job on such a scenario stored before the bounds existed is refused by the cost ceiling before it is compiled (422)', async () => {
    await s.dataSource
      .getRepository(ScenarioEntity)
      .insert({ id: 'old-cost-bomb', version: 1, document: costBomb('old-cost-bomb') as never, registeredBy: 'system', builtin: false });
    const before = await snapshot(s);
    const t0 = performance.now();
    const r = await call(s.url, 'POST', '/jobs?dryRun=true', {
      token: consumer,
      body: { scenario: 'old-cost-bomb', bindings: { utility: datasetId }, keyset: 'a'.repeat(64), purpose: 'public-service' },
    });
    const ms = performance.now() - t0;
    assert.equal(r.status, 422, r.text.slice(0, 300));
    assert.equal(r.body.error, 'PLAN_REFUSED');
    assert.equal(r.body.details[0].code, 'cost_ceiling');
    console.log(`# 3,000-metric job refused by the cost ceiling in ${ms.toFixed(1)} ms (issue: under 100 ms)`);
    assert.ok(ms < 1000, `${ms} ms`);
    const sub = await call(s.url, 'POST', '/jobs', {
      token: consumer,
      body: { scenario: 'old-cost-bomb', bindings: { utility: datasetId }, keyset: 'a'.repeat(64), purpose: 'public-service' },
    });
    assert.equal(sub.status, 422);
    assert.deepEqual(await snapshot(s), before);
  });

  it('a plan whose estimated cost is over MAX_JOB_SECONDS is refused before keys, policy or storage', async () => {
    const before = await snapshot(s);
    const r = await call(s.url, 'POST', '/jobs', {
      token: consumer,
      body: { scenario: 'water-district-consumption', bindings: { utility: datasetId }, keyset: 'a'.repeat(64), purpose: 'public-service' },
    });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.body.details[0].code, 'cost_ceiling');
    assert.match(r.body.details[0].message, /MAX_JOB_SECONDS/);
    assert.deepEqual(await snapshot(s), before);
  });
});

describe('edge security: a scenario with a public list parameter gets its keyset and runs', () => {
  let s: Server;
  let dir: string;
  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-edge-keys-'));
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'keys planned without the parameter values fit the job that gives them; the job runs and names its version',
    { timeout: 240_000 },
    async () => {
      const base = builtinScenario('retail-consumption-index');
      // the public weight list without a default: its values arrive only with the job
      const scenario = JSON.parse(JSON.stringify({ ...base, id: 'retail-index-public-list' })) as Scenario;
      delete (scenario.params!.category_weights as { default?: unknown }).default;
      const add = async (role: string, name: string): Promise<string> =>
        (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role, name } })).body.token as string;
      const consumer = await add('consumer', 'statistics office');
      const reg = await call(s.url, 'POST', '/scenarios', { token: consumer, body: scenario });
      assert.equal(reg.status, 201, reg.text);
      const rows: Record<string, Row[]> = {};
      const bindings: Record<string, string> = {};
      for (const role of Object.keys(scenario.inputs)) {
        const provider = await add('provider', `retail ${role}`);
        const doc = datasetDocumentFor('retail-consumption-index', role);
        const d = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
        assert.equal(d.status, 201, d.text);
        rows[role] = generateRoleRows('retail-consumption-index', role, { rows: 300, seed: 3 });
        const imp = await call(s.url, 'POST', `/datasets/${d.body.id}/rows`, {
          token: provider,
          raw: toCsv(Object.keys(doc.columns), rows[role]),
          headers: { 'content-type': 'text/csv' },
        });
        assert.equal(imp.status, 200, imp.text);
        bindings[role] = d.body.id;
      }
      // what `dataspace keys generate` does: plan the keys from the scenario alone
      const req = keyRequirements(scenario);
      await generateKeyFile(join(dir, 'k'), req);
      const keys = readKeyFile(join(dir, 'k'));
      const weights = (base.params!.category_weights as { default: number[] }).default;
      const client = new DataspaceClient({ url: s.url, token: consumer });
      const sub = await submitJob(client, keys, scenario, {
        scenario: scenario.id,
        bindings,
        purpose: 'public-service',
        params: { category_weights: weights },
      });
      const st = await waitForJob(client, String(sub.id), undefined, 200, 200_000);
      assert.equal(st.status, 'completed', JSON.stringify(st.error));
      const job = await call(s.url, 'GET', `/jobs/${String(sub.id)}`, { token: consumer });
      assert.equal(job.body.version, 1, 'the job names the exact scenario version it ran');
      const list = await call(s.url, 'GET', '/jobs', { token: consumer });
      assert.equal(list.status, 200, list.text);
      const listed = (list.body as { id: string; version: number; status: string }[]).find((j) => j.id === String(sub.id));
      assert.deepEqual([listed?.version, listed?.status], [1, 'completed']);
      const result = await fetchResult(client, String(sub.id), keys);
      const ref = evaluateReference(scenario, { category_weights: weights }, rows);
      const want = ref.metrics.spending_index as Record<string, number | null>;
      const got = result.metrics.spending_index as Record<string, number | null>;
      for (const [g, v] of Object.entries(want)) {
        if (v === null) assert.equal(got[g], null);
        else assert.ok(Math.abs((got[g] as number) - v) <= 1e-6 * Math.max(1, Math.abs(v)), `spending_index.${g}: ${got[g]} vs ${v}`);
      }
    },
  );
  it(
    'a weightedSum whose public weights are "$params.w" gets its keyset from the scenario alone and its job runs',
    { timeout: 300_000 },
    async () => {
      const id = 'invoice-double-financing';
      const base = builtinScenario(id);
      const scenario = JSON.parse(JSON.stringify({ ...base, id: 'invoice-public-weights' })) as Scenario;
      const metric = scenario.metrics.find((m) => m.agg === 'weightedSum') as unknown as { weights: unknown };
      const weights = metric.weights as number[];
      metric.weights = '$params.w';
      scenario.params = { ...scenario.params, w: { type: 'number-list', description: 'public weights, one per ref' } };
      const add = async (role: string, name: string): Promise<string> =>
        (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role, name } })).body.token as string;
      const consumer = await add('consumer', 'regulator');
      const reg = await call(s.url, 'POST', '/scenarios', { token: consumer, body: scenario });
      assert.equal(reg.status, 201, reg.text);
      const rows: Record<string, Row[]> = {};
      const bindings: Record<string, string> = {};
      const counts: Record<string, number> = {};
      for (const role of Object.keys(scenario.inputs)) {
        const provider = await add('provider', `invoices ${role}`);
        const doc = datasetDocumentFor(id, role);
        const d = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
        assert.equal(d.status, 201, d.text);
        rows[role] = generateRoleRows(id, role, { rows: 200, seed: 5 });
        counts[role] = rows[role].length;
        const imp = await call(s.url, 'POST', `/datasets/${d.body.id}/rows`, {
          token: provider,
          raw: toCsv(Object.keys(doc.columns), rows[role]),
          headers: { 'content-type': 'text/csv' },
        });
        assert.equal(imp.status, 200, imp.text);
        bindings[role] = d.body.id;
      }
      // the failure: "3 refs need 3 weights, got 1" when the keys were planned without parameters
      const req = keyRequirements(scenario);
      await generateKeyFile(join(dir, 'w'), req);
      const keys = readKeyFile(join(dir, 'w'));
      const params = { ...defaultParams(id, counts), w: weights };
      const client = new DataspaceClient({ url: s.url, token: consumer });
      const sub = await submitJob(client, keys, scenario, { scenario: scenario.id, bindings, purpose: catalogPurpose(id), params });
      const st = await waitForJob(client, String(sub.id), undefined, 200, 280_000);
      assert.equal(st.status, 'completed', JSON.stringify(st.error));
      const result = await fetchResult(client, String(sub.id), keys);
      const cmp = compareResult(scenario, result.metrics, evaluateReference(scenario, params, rows).metrics);
      assert.ok(cmp.ok, JSON.stringify(cmp.problems.slice(0, 3)));
    },
  );
});
