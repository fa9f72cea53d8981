/**
 * Issue 8, "done when" 2 and 3: the `dataspace` CLI as a subprocess against `dataspace serve`
 * (another subprocess, own port and DATA_DIR): participants add, datasets register and import,
 * scenarios register (a new document, not a built-in one), keys generate (mode 0600), jobs submit
 * --wait, jobs result --json (checked against the plaintext reference), ledger checkpoint and
 * verify. The consumer's commands go through a recording HTTP proxy, and no request they send
 * holds the secret key (raw, base64 or hex).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readKeyFile } from '#sdk';
import { type Row, type Scenario, compareResult, evaluateReference } from '#scenario';
import { type CliRun, runCli, startCli } from './support/cli.js';
import { dropRunState } from './support/cleanup.js';

const DISTRICTS = ['shinan', 'shibei', 'licang'];

/** A scenario document written for this test: what any consumer could register. */
const scenario: Scenario = {
  id: `e2e-kiosk-sales-${randomBytes(3).toString('hex')}`,
  title: 'Kiosk sales by district (CLI end-to-end test)',
  sector: 'commerce',
  description: 'Total sales and kiosks per district, and kiosks over 250 a day.',
  inputs: {
    shop: {
      columns: {
        kiosk_id: { type: 'id' },
        district: { type: 'category', values: DISTRICTS },
        amount: { type: 'number', min: 0, max: 500 },
      },
    },
  },
  params: {},
  metrics: [
    { name: 'sales', agg: 'sum', of: 'shop.amount', by: 'shop.district' },
    { name: 'kiosks', agg: 'count', role: 'shop', by: 'shop.district' },
    { name: 'busy', agg: 'count', role: 'shop', where: { gt: ['shop.amount', 250] } },
  ],
  release: { minGroupSize: 5 },
};

const PURPOSE = 'public-service';

const dataset = {
  name: 'kiosk sales 2025-06-01',
  description: 'one row per kiosk',
  columns: scenario.inputs.shop!.columns,
  policy: {
    consumers: ['*'],
    purposes: [PURPOSE],
    aggregations: ['sum', 'count'],
    rowLevel: false,
    minGroupSize: 5,
    epsilonBudget: 10,
    expiresAt: null,
  },
};

/** 240 rows, deterministic, amounts with cents; the last district has 3 kiosks only (suppressed). */
function kioskRows(): Row[] {
  const rows: Row[] = [];
  for (let i = 0; i < 240; i++) {
    const district = i < 237 ? DISTRICTS[i % 2]! : DISTRICTS[2]!;
    rows.push({ kiosk_id: `K${String(i).padStart(4, '0')}`, district, amount: Math.round((i * 7919) % 50000) / 100 });
  }
  return rows;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A forwarding HTTP proxy that keeps every request it sees (method, path, headers, body). */
function recordingProxy(target: string): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const t = new URL(target);
  const requests: Recorded[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const headers = { ...req.headers, host: t.host };
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
      const up = request({ hostname: t.hostname, port: t.port, path: req.url, method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

/** Whether the CLI build has a top-level command (commander lists it in the root help). */
async function registered(command: string): Promise<boolean> {
  const r = await runCli(['--help']);
  return new RegExp(`^\\s+${command}\\b`, 'm').test(r.stdout);
}

function ok(r: CliRun, what: string): CliRun {
  assert.equal(r.code, 0, `${what} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

describe('dataspace CLI end to end (subprocesses)', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'dataspace-cli-e2e-'));
  const prefix = `dstest-cli-${randomBytes(4).toString('hex')}`;
  // On PostgreSQL (the second pass of npm test), its own schema so runs cannot collide.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: join(dir, 'data'),
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    ...(process.env.DATABASE_URL ? { DATABASE_SCHEMA: `cli_${prefix.replace(/[^a-z0-9]/g, '_')}` } : {}),
  };
  delete env.DATASPACE_URL;
  delete env.DATASPACE_TOKEN;
  let server: Awaited<ReturnType<typeof startCli>> | undefined;
  let url = '';
  let admin = '';
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  const tokens: Record<'provider' | 'consumer' | 'auditor', string> = { provider: '', consumer: '', auditor: '' };
  let datasetId = '';
  let jobId = '';
  const keyFile = join(dir, 'consumer.keys');
  const cli = (args: string[], token?: string, via?: string): Promise<CliRun> =>
    runCli(['--url', via ?? url, ...(token ? ['--token', token] : []), ...args], { env, timeoutMs: 180_000 });

  before(async () => {
    const port = await freePort();
    server = await startCli(['serve', '--port', String(port)], env, /dataspace serving/, 90_000);
    url = `http://127.0.0.1:${port}`;
    admin = readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim();
    proxy = await recordingProxy(url);
  });

  after(async () => {
    await proxy?.close();
    await server?.stop();
    await dropRunState({ databaseUrl: env.DATABASE_URL, schemas: [env.DATABASE_SCHEMA], redisUrl: env.REDIS_URL, queuePrefix: prefix });
    rmSync(dir, { recursive: true, force: true });
  });

  it('participants add (admin) prints id, name, role and token', async () => {
    for (const role of ['provider', 'consumer', 'auditor'] as const) {
      const r = ok(
        await cli(['participants', 'add', '--role', role, '--name', `e2e ${role}`, '--json'], admin),
        `participants add ${role}`,
      );
      const p = JSON.parse(r.stdout) as { id: string; name: string; role: string; token: string };
      assert.equal(p.role, role);
      assert.equal(p.name, `e2e ${role}`);
      assert.ok(p.id && p.token);
      tokens[role] = p.token;
    }
    const refused = await cli(['participants', 'add', '--role', 'consumer', '--name', 'x'], tokens.consumer);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
  });

  it('datasets register and import (CSV); list shows the rows', async () => {
    const file = join(dir, 'dataset.json');
    writeFileSync(file, JSON.stringify(dataset));
    const reg = JSON.parse(
      ok(await cli(['datasets', 'register', '--file', file, '--json'], tokens.provider), 'datasets register').stdout,
    ) as { id: string };
    assert.ok(reg.id);
    datasetId = reg.id;
    const rows = kioskRows();
    const csv = join(dir, 'rows.csv');
    writeFileSync(csv, ['kiosk_id,district,amount', ...rows.map((r) => `${r.kiosk_id},${r.district},${r.amount}`)].join('\n') + '\n');
    ok(await cli(['datasets', 'import', datasetId, '--file', csv, '--json'], tokens.provider), 'datasets import');
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'kiosk_id,district,amount\nK1,shinan,12\nK2,nowhere,3\n');
    const refused = await cli(['datasets', 'import', datasetId, '--file', bad], tokens.provider);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /line|district/i);
    const list = JSON.parse(ok(await cli(['datasets', 'list', '--json'], tokens.provider), 'datasets list').stdout) as {
      id: string;
      rows: number;
    }[];
    assert.equal(list.find((d) => d.id === datasetId)?.rows, rows.length);
  });

  it('scenarios register: a new document, then show returns it', async () => {
    const file = join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify(scenario));
    const r = JSON.parse(
      ok(await cli(['scenarios', 'register', '--file', file, '--json'], tokens.consumer), 'scenarios register').stdout,
    ) as { id: string; version: number };
    assert.deepEqual(r, { id: scenario.id, version: 1 });
    const shown = JSON.parse(ok(await cli(['scenarios', 'show', scenario.id, '--json'], tokens.consumer), 'scenarios show').stdout) as {
      document: Scenario;
    };
    assert.deepEqual(shown.document.metrics, scenario.metrics);
  });

  it('keys generate writes the key file with mode 0600 (through the recording proxy)', async () => {
    ok(await cli(['keys', 'generate', '--scenario', scenario.id, '--out', keyFile], tokens.consumer, proxy.url), 'keys generate');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  });

  it('jobs submit --wait completes and jobs result --json matches the reference', async () => {
    const sub = ok(
      await cli(
        [
          'jobs',
          'submit',
          '--scenario',
          scenario.id,
          '--bind',
          `shop=${datasetId}`,
          '--keys',
          keyFile,
          '--purpose',
          PURPOSE,
          '--wait',
          '--json',
        ],
        tokens.consumer,
        proxy.url,
      ),
      'jobs submit',
    );
    const job = JSON.parse(sub.stdout) as { id: string; status: string };
    assert.equal(job.status, 'completed');
    jobId = job.id;
    const res = ok(await cli(['jobs', 'result', jobId, '--keys', keyFile, '--json'], tokens.consumer, proxy.url), 'jobs result');
    const doc = JSON.parse(res.stdout) as {
      scenario: string;
      job: string;
      metrics: Record<string, never>;
      meta: { rows: Record<string, number>; suppressed: Record<string, string[]> };
    };
    assert.equal(doc.scenario, scenario.id);
    assert.equal(doc.job, jobId);
    // the policy's minGroupSize 5 withholds the exact row counts from the consumer (README, threat model)
    assert.deepEqual(doc.meta.rows, {});
    assert.deepEqual(doc.meta.suppressed.kiosks, ['licang']);
    const ref = evaluateReference(scenario, {}, { shop: kioskRows() });
    const report = compareResult(scenario, doc.metrics, ref.metrics);
    assert.deepEqual(report.problems, [], JSON.stringify(report.problems));
  });

  it('no request the CLI sent holds the secret key (raw, base64 or hex)', () => {
    assert.ok(proxy.requests.length >= 4, `only ${proxy.requests.length} requests recorded`);
    assert.ok(
      proxy.requests.some((r) => r.method === 'POST' && r.url.startsWith('/keysets') && r.body.length > 1000),
      'the public keyset upload was not recorded',
    );
    const sk = Buffer.from(readKeyFile(keyFile).secretKey);
    const file = readFileSync(keyFile);
    assert.ok(sk.length >= 256, 'secret key serialisation unexpectedly short');
    // windows of the secret key away from its serialisation header, in every encoding that could carry it
    const needles: Buffer[] = [sk, file];
    for (const at of [64, Math.floor(sk.length / 2), sk.length - 96]) {
      const w = sk.subarray(at, at + 48);
      needles.push(w, Buffer.from(w.toString('hex')));
      for (let shift = 0; shift < 3; shift++) {
        // base64 of the window at each byte alignment, minus the edge characters that depend on neighbours
        const b64 = w.subarray(shift).toString('base64');
        needles.push(Buffer.from(b64.slice(4, -4)), Buffer.from(w.subarray(shift).toString('base64url').slice(4, -4)));
      }
    }
    for (const r of proxy.requests) {
      const all = Buffer.concat([Buffer.from(`${r.method} ${r.url}\n${JSON.stringify(r.headers)}\n`), r.body]);
      for (const n of needles) assert.equal(all.indexOf(n), -1, `${r.method} ${r.url} carries secret key material`);
    }
  });

  it('ledger checkpoint --out and ledger verify --since', async (t) => {
    if (!(await registered('ledger'))) {
      t.skip('the ledger commands are not registered in this build');
      return;
    }
    const cp = join(dir, 'checkpoint.json');
    ok(await cli(['ledger', 'checkpoint', '--out', cp], tokens.auditor), 'ledger checkpoint');
    assert.ok(JSON.parse(readFileSync(cp, 'utf8')).size > 0);
    const entries = JSON.parse(
      ok(await cli(['ledger', 'entries', '--job', jobId, '--json'], tokens.auditor), 'ledger entries').stdout,
    ) as unknown;
    const list = Array.isArray(entries) ? entries : (entries as { entries: unknown[] }).entries;
    assert.ok(list.length > 0, 'no ledger events for the job');
    ok(await cli(['ledger', 'verify', '--since', cp], tokens.auditor), 'ledger verify');
  });

  it('demo --list --json lists the 33 built-in scenarios', async (t) => {
    if (!(await registered('demo'))) {
      t.skip('the demo command is not registered in this build');
      return;
    }
    const r = ok(await runCli(['demo', '--list', '--json'], { env }), 'demo --list');
    const list = JSON.parse(r.stdout) as { id: string; title: string; sector: string; roles: string[] }[];
    assert.equal(list.length, 33);
    assert.equal(new Set(list.map((x) => x.id)).size, 33);
    for (const x of list) assert.ok(x.title && x.sector && x.roles.length > 0, x.id);
  });
});
