/**
 * The usage ledger end to end (issue 7): actions become events on the durable queue, proofs served by the
 * API verify against signed checkpoints, `dataspace ledger verify` names every kind of tampering with the
 * stored log, and an action is refused when the ledger cannot record it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueName } from '#contracts';
import {
  PUBLIC_KEY_FILE,
  SIGNING_KEY_FILE,
  canonicalEventString,
  hashFromHex,
  leafHashOfText,
  publicKeyFromPem,
  toHex,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '#ledger-core';
import { builtinScenarios } from '#scenario';
import { call, drainQueue, startTestServer, testConfig } from './support/env.js';
import { runCli, type CliRun } from './support/cli.js';
import { DataspaceClient } from '#sdk';
import { type LedgerSource, httpLedgerSource, verifyLedger } from '../apps/cli/src/commands/ledger.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
const APPS = ['broker', 'ledger'] as const;

/** `dataspace` as a subprocess. */
function cli(args: string[]): Promise<CliRun> {
  return runCli(args);
}

/** Waits until the ledger queue has nothing waiting, delayed or in flight. */
function drain(s: Server): Promise<void> {
  return drainQueue(s.queues, QueueName.ledger);
}

/** Runs SQL with `?` placeholders on SQLite or PostgreSQL. */
function sql(s: Server, text: string, params: unknown[] = []): Promise<unknown> {
  let n = 0;
  const t = s.dataSource.options.type === 'postgres' ? text.replace(/\?/g, () => `$${++n}`) : text;
  return s.dataSource.query(t, params);
}

async function addParticipant(s: Server, role: string, name: string): Promise<{ id: string; token: string }> {
  const r = await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role, name } });
  assert.equal(r.status, 201, r.text);
  return r.body as { id: string; token: string };
}

/** A valid scenario document with a fresh id (a built-in one, renamed). */
function freshScenario(suffix: string): Record<string, unknown> {
  const doc = builtinScenarios()[0] as unknown as Record<string, unknown>;
  return { ...doc, id: `${String(doc.id)}-${suffix}` };
}

interface CheckpointBody {
  origin: string;
  keyName: string;
  size: number;
  checkpoint: string;
  publicKey: string;
}

describe('ledger: actions are events; served proofs verify against signed checkpoints', () => {
  let s: Server;
  let auditor: { id: string; token: string };
  let consumer: { id: string; token: string };
  before(async () => {
    s = await startTestServer({ apps: [...APPS] });
    auditor = await addParticipant(s, 'auditor', 'audit office');
    consumer = await addParticipant(s, 'consumer', 'city lab');
  });
  after(async () => s.cleanup());

  it('records actions, proves their inclusion and the consistency of two checkpoints', async () => {
    await drain(s);
    const a = await call(s.url, 'POST', '/ledger/checkpoint', { token: auditor.token });
    assert.equal(a.status, 200, a.text);
    const older = a.body as CheckpointBody;
    // Built-in scenarios (33) and the two participants were recorded at start-up.
    assert.ok(older.size >= 35, `size ${older.size}`);

    const doc = freshScenario('ledger-e2e');
    const sc = await call(s.url, 'POST', '/scenarios', { token: consumer.token, body: doc });
    assert.equal(sc.status, 201, sc.text);
    const extra = await addParticipant(s, 'provider', 'water utility');
    await drain(s);
    const b = await call(s.url, 'POST', '/ledger/checkpoint', { token: auditor.token });
    const newer = b.body as CheckpointBody;
    assert.equal(newer.size, older.size + 2);

    // The published key (also at /ledger/public-key) verifies both notes.
    const pk = await call(s.url, 'GET', '/ledger/public-key');
    assert.equal(pk.status, 200);
    assert.equal(pk.body.publicKey, newer.publicKey);
    const key = publicKeyFromPem(newer.publicKey);
    const cpOld = verifyCheckpoint(older.checkpoint, key, older.keyName);
    const cpNew = verifyCheckpoint(newer.checkpoint, key, newer.keyName);
    assert.equal(cpNew.origin, newer.origin);

    const list = await call(s.url, 'GET', `/ledger/entries?offset=${older.size}&limit=10`, { token: auditor.token });
    assert.equal(list.status, 200, list.text);
    const events = list.body.entries as { index: number; leafHash: string; event: Record<string, unknown> }[];
    const registered = events.find((e) => e.event.type === 'scenario.registered');
    const added = events.find((e) => e.event.type === 'participant.added');
    assert.equal(registered?.event.scenario, doc.id);
    assert.deepEqual(registered?.event.actor, { id: consumer.id, role: 'consumer' });
    assert.equal((added?.event.data as { participant?: string }).participant, extra.id);

    for (const e of events) {
      // The leaf is the event's RFC 8785 form, recomputed here, not taken from the server.
      const leaf = leafHashOfText(canonicalEventString(e.event));
      assert.equal(toHex(leaf), e.leafHash);
      const p = await call(s.url, 'GET', `/ledger/proof/inclusion?index=${e.index}&size=${cpNew.size}`, { token: auditor.token });
      assert.equal(p.status, 200, p.text);
      const proof = (p.body.proof as string[]).map((h) => hashFromHex(h));
      assert.equal(verifyInclusion(leaf, e.index, cpNew.size, proof, cpNew.root), true);
      // The same proof must not verify another leaf or the older root.
      assert.equal(verifyInclusion(leafHashOfText('{}'), e.index, cpNew.size, proof, cpNew.root), false);
      assert.equal(verifyInclusion(leaf, e.index, cpNew.size, proof, cpOld.root), false);
    }

    const c = await call(s.url, 'GET', `/ledger/proof/consistency?from=${cpOld.size}&to=${cpNew.size}`, { token: auditor.token });
    assert.equal(c.status, 200, c.text);
    const cproof = (c.body.proof as string[]).map((h) => hashFromHex(h));
    assert.equal(verifyConsistency(cpOld.size, cpNew.size, cproof, cpOld.root, cpNew.root), true);
    assert.equal(verifyConsistency(cpOld.size, cpNew.size, cproof, cpNew.root, cpOld.root), false);
  });

  it('ledger verify checks the proofs the API serves (a server lying about one proof is caught)', async () => {
    await drain(s);
    const honest = httpLedgerSource(new DataspaceClient({ url: s.url, token: auditor.token }));
    const ok = await verifyLedger(honest, { randomSamples: 3 });
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const flip = (hex: string): string => (hex[0] === '0' ? '1' : '0') + hex.slice(1);
    const badInclusion: LedgerSource = {
      ...honest,
      inclusion: async (index, size) => {
        const p = await honest.inclusion(index, size);
        return index === 0 ? p : { ...p, proof: p.proof.map((h, i) => (i === 0 ? flip(h) : h)) };
      },
    };
    const r1 = await verifyLedger(badInclusion, {});
    assert.equal(r1.ok, false);
    assert.equal(!r1.ok && r1.code, 'INCLUSION_PROOF_FAILED');
    const badConsistency: LedgerSource = {
      ...honest,
      consistency: async (a, b) => {
        const p = await honest.consistency(a, b);
        return { proof: p.proof.length ? [...p.proof.slice(0, -1), flip(p.proof[p.proof.length - 1]!)] : [flip('0'.repeat(64))] };
      },
    };
    const r2 = await verifyLedger(badConsistency, {});
    assert.equal(!r2.ok && r2.code, 'CONSISTENCY_PROOF_FAILED');
    // A node table that disagrees with the entries is located even when every leaf hash matches.
    const badNodes: LedgerSource = {
      ...honest,
      nodes: async (keys) => (await honest.nodes(keys)).map((h, i) => (keys[i]!.level === 1 && keys[i]!.index === 2 && h ? flip(h) : h)),
    };
    const r3 = await verifyLedger(badNodes, {});
    assert.equal(!r3.ok && r3.code, 'NODE_MISMATCH');
    assert.equal(!r3.ok && r3.firstBadIndex, 4);
  });

  it('filters entries and limits what a consumer reads', async () => {
    await drain(s);
    const mine = await call(s.url, 'GET', '/ledger/entries?type=scenario.registered&limit=1000', { token: auditor.token });
    assert.ok(mine.body.total >= 34);
    assert.ok((mine.body.entries as { event: { type: string } }[]).every((e) => e.event.type === 'scenario.registered'));
    // The consumer's own view holds only events naming it as consumer (none so far: no job was run).
    const own = await call(s.url, 'GET', '/ledger/entries', { token: consumer.token });
    assert.equal(own.status, 200);
    assert.ok((own.body.entries as { event: { consumer?: string } }[]).every((e) => e.event.consumer === consumer.id));
    const raw = await call(s.url, 'GET', '/ledger/raw', { token: consumer.token });
    assert.equal(raw.status, 403);
  });
});

describe('ledger verify: tampering with the stored log is named (CLI)', () => {
  let s: Server;
  let auditor: { id: string; token: string };
  let dir: string;
  let saved: string;
  let size: number;
  const verify = (...extra: string[]): Promise<CliRun> => cli(['--url', s.url, '--token', auditor.token, 'ledger', 'verify', ...extra]);
  type Row = {
    idx: number;
    event_id: string;
    type: string;
    job_id: string | null;
    consumer_id: string | null;
    datasets: string;
    at: string;
    body: string;
    leaf_hash: string;
  };
  const row = async (idx: number): Promise<Row> => ((await sql(s, 'SELECT * FROM ledger_entries WHERE idx = ?', [idx])) as Row[])[0]!;
  const reinsert = (r: Row): Promise<unknown> =>
    sql(
      s,
      'INSERT INTO ledger_entries (idx, event_id, type, job_id, consumer_id, datasets, at, body, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [Number(r.idx), r.event_id, r.type, r.job_id, r.consumer_id, r.datasets, r.at, r.body, r.leaf_hash],
    );

  function assertFails(r: CliRun, code: string, index?: number): void {
    assert.equal(r.code, 1, `exit ${r.code}: ${r.stdout}${r.stderr}`);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('warning:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`\\b${code}\\b`));
    if (index !== undefined) assert.match(lines[0]!, new RegExp(`at index ${index}\\b`));
  }

  before(async () => {
    s = await startTestServer({ apps: [...APPS] });
    auditor = await addParticipant(s, 'auditor', 'audit office');
    for (let i = 0; i < 5; i++) await addParticipant(s, 'consumer', `lab ${i}`);
    await drain(s);
    dir = mkdtempSync(join(tmpdir(), 'ledger-e2e-'));
    saved = join(dir, 'checkpoint.json');
    const r = await cli(['--url', s.url, '--token', auditor.token, 'ledger', 'checkpoint', '--out', saved]);
    assert.equal(r.code, 0, r.stderr);
    size = (JSON.parse(readFileSync(saved, 'utf8')) as CheckpointBody).size;
    assert.ok(size >= 39);
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an untouched log verifies (exit 0, size and root), pinned by the saved checkpoint', async () => {
    const r = await verify('--since', saved);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^ok: ${size} entries verified, root [0-9a-f]{64};`));
    assert.doesNotMatch(r.stderr, /not pinned/);
    const unpinned = await verify();
    assert.equal(unpinned.code, 0, unpinned.stderr);
    assert.match(unpinned.stderr, /^warning: the checkpoint key is not pinned/);
  });

  it('altered entry -> LEAF_HASH_MISMATCH at its index', async () => {
    const k = 7;
    const before = await row(k);
    await sql(s, 'UPDATE ledger_entries SET body = ? WHERE idx = ?', [
      before.body.replace(/"at":"[^"]*"/, '"at":"2000-01-01T00:00:00.000Z"'),
      k,
    ]);
    assert.notEqual((await row(k)).body, before.body);
    assertFails(await verify('--since', saved), 'LEAF_HASH_MISMATCH', k);
    await sql(s, 'UPDATE ledger_entries SET body = ? WHERE idx = ?', [before.body, k]);
    assert.equal((await verify('--since', saved)).code, 0);
  });

  it('deleted entry -> ENTRY_MISSING at its index', async () => {
    const k = 12;
    const gone = await row(k);
    await sql(s, 'DELETE FROM ledger_entries WHERE idx = ?', [k]);
    assertFails(await verify('--since', saved), 'ENTRY_MISSING', k);
    await reinsert(gone);
    assert.equal((await verify('--since', saved)).code, 0);
  });

  it('two entries swapped (bodies and leaf hashes) -> NODE_MISMATCH at the first', async () => {
    const [i, j] = [3, 20];
    const a = await row(i);
    const b = await row(j);
    const put = async (idx: number, r: Row): Promise<unknown> =>
      sql(s, 'UPDATE ledger_entries SET body = ?, leaf_hash = ? WHERE idx = ?', [r.body, r.leaf_hash, idx]);
    await put(i, b);
    await put(j, a);
    assertFails(await verify('--since', saved), 'NODE_MISMATCH', i);
    await put(i, a);
    await put(j, b);
    assert.equal((await verify('--since', saved)).code, 0);
  });

  it('truncated log -> TRUNCATED at the first missing index', async () => {
    const n = 4;
    const tail: Row[] = [];
    for (let k = size - n; k < size; k++) tail.push(await row(k));
    await sql(s, 'DELETE FROM ledger_entries WHERE idx >= ?', [size - n]);
    assertFails(await verify('--since', saved), 'TRUNCATED', size - n);
    // Truncating and also wiping the signed checkpoints: a fresh checkpoint of the short log is signed
    // with the right key, but it is smaller than the auditor's saved one.
    const kept = (await sql(s, 'SELECT size, text, created_at FROM ledger_checkpoints')) as {
      size: number;
      text: string;
      created_at: unknown;
    }[];
    await sql(s, 'DELETE FROM ledger_checkpoints');
    assertFails(await verify('--since', saved), 'ROLLED_BACK', size - n);
    for (const r of tail) await reinsert(r);
    await sql(s, 'DELETE FROM ledger_checkpoints');
    for (const c of kept)
      await sql(s, 'INSERT INTO ledger_checkpoints (size, text, created_at) VALUES (?, ?, ?)', [Number(c.size), c.text, c.created_at]);
    assert.equal((await verify('--since', saved)).code, 0);
  });

  it('a checkpoint served under another key -> BAD_CHECKPOINT when the key is pinned', async () => {
    // An operator replaces the signing key and re-signs: the log itself is intact.
    await sql(s, 'DELETE FROM ledger_checkpoints');
    const config = s.config;
    await s.close();
    unlinkSync(join(config.dataDir, SIGNING_KEY_FILE));
    unlinkSync(join(config.dataDir, PUBLIC_KEY_FILE));
    s = await startTestServer({ apps: [...APPS], config });
    const fresh = await call(s.url, 'POST', '/ledger/checkpoint', { token: auditor.token });
    assert.equal(fresh.status, 200, fresh.text);
    assert.notEqual(fresh.body.publicKey, (JSON.parse(readFileSync(saved, 'utf8')) as CheckpointBody).publicKey);
    assertFails(await verify('--since', saved), 'BAD_CHECKPOINT');
    const keyFile = join(dir, 'old.pub');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(keyFile, (JSON.parse(readFileSync(saved, 'utf8')) as CheckpointBody).publicKey);
    assertFails(await verify('--key', keyFile), 'BAD_CHECKPOINT');
    // Without a pinned key the new signature is accepted: that is why verify warns.
    const unpinned = await verify();
    assert.equal(unpinned.code, 0, unpinned.stderr);
    assert.match(unpinned.stderr, /not pinned/);
  });
});

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const { Redis } = await import('ioredis');
  for (let i = 0; i < 100; i++) {
    const r = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    const up = await r
      .connect()
      .then(() => r.ping())
      .then(
        (p) => p === 'PONG',
        () => false,
      );
    r.disconnect();
    if (up) return child;
    await new Promise((res) => setTimeout(res, 100));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

describe('with the ledger unavailable, the action is refused', () => {
  let s: Server;
  let redis: ChildProcess;
  let port: number;
  let dir: string;
  before(async () => {
    port = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'ledger-redis-'));
    redis = await startRedis(port, dir);
    // This server's queues (the ledger's durable intake) live on a Redis of its own that the test can stop.
    s = await startTestServer({
      apps: [...APPS],
      config: testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_AUTOSTART: 'false' }),
    });
  });
  after(async () => {
    if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGKILL');
    redis = await startRedis(port, dir); // a clean shutdown of the server's queues needs its Redis back
    await s.cleanup();
    redis.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('POST /scenarios answers 503 LEDGER_UNAVAILABLE and stores nothing', async () => {
    const consumer = await addParticipant(s, 'consumer', 'city lab');
    const ok = await call(s.url, 'POST', '/scenarios', { token: consumer.token, body: freshScenario('while-up') });
    assert.equal(ok.status, 201, ok.text);
    await drain(s);

    await new Promise<void>((resolve) => {
      redis.once('exit', () => resolve());
      redis.kill('SIGKILL');
    });
    const doc = freshScenario('while-down');
    const r = await call(s.url, 'POST', '/scenarios', { token: consumer.token, body: doc });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.body.error, 'LEDGER_UNAVAILABLE');
    const stored = (await sql(s, 'SELECT COUNT(*) AS n FROM scenarios WHERE id = ?', [doc.id])) as { n: number | string }[];
    assert.equal(Number(stored[0]!.n), 0);
    const recorded = (await sql(s, 'SELECT COUNT(*) AS n FROM ledger_entries WHERE body LIKE ?', [`%${String(doc.id)}%`])) as {
      n: number | string;
    }[];
    assert.equal(Number(recorded[0]!.n), 0);
    // The scenario registered while the ledger was up is both stored and recorded.
    const up = (await sql(s, 'SELECT COUNT(*) AS n FROM ledger_entries WHERE body LIKE ?', ['%while-up%'])) as { n: number | string }[];
    assert.equal(Number(up[0]!.n), 1);
  });
});
