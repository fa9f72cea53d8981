/**
 * Issue 17, "done when" 2: joint groups across aligned roles are cut by the broker, not by the consumer's SDK.
 * The consumer plays the adversary: it fetches the result ciphertexts through the public API and decrypts every
 * slot with its own secret key (no SDK decoding). The data has a joint group of exactly 1 row (category b: 6
 * registry rows, only one of them with a payment row, so the broker's bound, the smaller of the local counts,
 * is 6 and does not cut it) next to groups of many rows.
 * - The exact job (minGroupSize 5, no noise) is refused with ALIGNED_NOISE_REQUIRED, on the dry run and on
 *   submit, and the refusal is a ledger event.
 * - The noisy job runs; over several runs (fresh noise each time) no decrypted slot, read at any factor the plan
 *   reads it with, is the small group's exact joint count or exact value in every run, and no slot is the exact
 *   joint count of any group in every run: what the consumer can read of a joint group is ε-DP noise.
 * - Control (the test can tell): with minGroupSize 1 an exact aligned job runs, and the same scan finds the
 *   exact joint count 1 of group b in every run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeEngine, type SecretKeyset } from '#he-core';
import { DataspaceClient, generateKeyFile, keyRequirements, publishKeyset, readKeyFile, waitForJob } from '#sdk';
import { type Plan, type Read, type Row, type Scenario, validateScenario } from '#scenario';
import { decodingReads } from '../libs/scenario/src/compiler/reads.js';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

const PURPOSE = 'research';
const text = { description: 'aligned joint group test' };
const col = {
  rid: { type: 'id', ...text },
  cat: { type: 'category', values: ['a', 'b', 'c'], ...text },
  x: { type: 'number', min: 0, max: 1000, ...text },
};

/** Registry and payments aligned on the consumer's key list: the paid sum and the joint count per registry category. */
function scenario(id: string, release: Record<string, unknown>): Scenario {
  return {
    id,
    title: id,
    sector: 'test',
    description: 'aligned joint groups',
    inputs: {
      reg: { description: 'registry', columns: { rid: col.rid, cat: col.cat } },
      pay: { description: 'payments', columns: { rid: col.rid, x: col.x } },
    },
    params: { keys: { type: 'id-list', description: 'the ids to align' } },
    align: { on: { reg: 'rid', pay: 'rid' }, keys: '$params.keys' },
    metrics: [
      { name: 'paid', agg: 'sum', of: 'pay.x', by: ['reg.cat'], description: 'payments per registry category' },
      { name: 'payers', agg: 'count', role: 'reg', where: { ge: ['pay.x', 0] }, by: ['reg.cat'], description: 'joint rows' },
    ],
    release,
  } as unknown as Scenario;
}

/** Small group b: r100..r105 in the registry, only r100 pays (x = 123.45). a: 60 joint rows, c: 40. */
const SMALL_VALUE = 123.45;
function data(): { reg: Row[]; pay: Row[]; joint: Record<string, number> } {
  const reg: Row[] = [];
  const pay: Row[] = [];
  for (let i = 0; i < 60; i++) {
    reg.push({ rid: `r${i}`, cat: 'a' });
    pay.push({ rid: `r${i}`, x: (i * 37) % 1000 });
  }
  for (let i = 0; i < 6; i++) reg.push({ rid: `r${100 + i}`, cat: 'b' });
  pay.push({ rid: 'r100', x: SMALL_VALUE });
  for (let i = 0; i < 40; i++) {
    reg.push({ rid: `r${200 + i}`, cat: 'c' });
    pay.push({ rid: `r${200 + i}`, x: (i * 53) % 1000 });
  }
  // payments of firms not in the registry: the payment role's local count is far above 5
  for (let i = 0; i < 30; i++) pay.push({ rid: `z${i}`, x: 5 });
  return { reg, pay, joint: { a: 60, b: 1, c: 40 } };
}

describe('aligned joint groups: the broker, not the SDK, keeps a joint group under minGroupSize unreadable', () => {
  let s: Server;
  let dir: string;
  let provider: string;
  let consumer: string;
  let client: DataspaceClient;
  const keyCache = new Map<string, SecretKeyset>();
  const d = data();
  const keyList = d.reg.map((r) => String(r.rid));

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-joint-'));
    provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'holder' } })).body.token;
    consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'prober' } })).body.token;
    client = new DataspaceClient({ url: s.url, token: consumer });
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function dataset(columns: Record<string, unknown>, rows: Row[], minGroupSize: number): Promise<string> {
    const doc = {
      name: 'joint data',
      description: 'rows aligned with another provider',
      columns,
      policy: {
        consumers: ['*'],
        purposes: [PURPOSE],
        aggregations: ['sum', 'count'],
        rowLevel: false,
        minGroupSize,
        epsilonBudget: null,
        expiresAt: null,
      },
    };
    const reg = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    const imp = await call(s.url, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(columns), rows),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    return reg.body.id as string;
  }

  async function bindings(minGroupSize: number): Promise<Record<string, string>> {
    return {
      reg: await dataset({ rid: col.rid, cat: col.cat }, d.reg, minGroupSize),
      pay: await dataset({ rid: col.rid, x: col.x }, d.pay, minGroupSize),
    };
  }

  async function body(sc: Scenario, b: Record<string, string>): Promise<Record<string, unknown>> {
    const v = validateScenario(sc);
    assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
    if (!keyCache.has(sc.id)) {
      const reg = await call(s.url, 'POST', '/scenarios', { token: consumer, body: sc });
      assert.equal(reg.status, 201, reg.text);
      const file = join(dir, `${sc.id}.keys`);
      await generateKeyFile(file, keyRequirements(sc, { keys: keyList } as never));
      const keys = readKeyFile(file);
      await publishKeyset(client, keys);
      keyCache.set(sc.id, keys);
    }
    const keys = keyCache.get(sc.id)!;
    return { scenario: sc.id, bindings: b, keyset: keys.publicKeyset.fingerprint, purpose: PURPOSE, params: { keys: keyList } };
  }

  /** Runs a job and decrypts every slot of every output it can fetch (no SDK decoding). */
  async function runAndDecrypt(sc: Scenario, b: Record<string, string>): Promise<{ plan: Plan; outputs: Record<string, Float64Array> }> {
    const sub = await call(s.url, 'POST', '/jobs', { token: consumer, body: await body(sc, b) });
    assert.equal(sub.status, 202, sub.text);
    const st = await waitForJob(client, String(sub.body.id), undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    const r = await call(s.url, 'GET', `/jobs/${sub.body.id}/result`, { token: consumer });
    assert.equal(r.status, 200, r.text);
    const plan = r.body.plan as Plan;
    const engine = await HeEngine.create(plan.params);
    const sk = engine.useSecretKeyset(keyCache.get(sc.id)!);
    try {
      const outputs: Record<string, Float64Array> = {};
      for (const [id, b64] of Object.entries(r.body.outputs as Record<string, string>))
        outputs[id] = engine.scope(() => engine.decrypt(sk, engine.load(new Uint8Array(Buffer.from(b64, 'base64')))));
      return { plan, outputs };
    } finally {
      engine.releaseKeys(sk);
      engine.dispose();
    }
  }

  /** Every factor the plan reads an output's slots with (decodings and joint counts), and 1 (the raw slot). */
  function factorsOf(plan: Plan): Map<string, number[]> {
    const out = new Map<string, number[]>();
    const add = (r: Read): void => {
      out.set(r.output, [...new Set([...(out.get(r.output) ?? [1]), r.factor])]);
    };
    for (const dec of Object.values(plan.decoding.metrics)) for (const { read } of decodingReads(dec)) add(read);
    for (const c of plan.conditions) if (c.jointCount) add(c.jointCount);
    return out;
  }

  /**
   * The (output, slot, factor) triples at which the slot reads `target` (within `tol`) in every run: what a
   * consumer decrypting every slot could take for the exact value.
   */
  function steadyAt(runs: { plan: Plan; outputs: Record<string, Float64Array> }[], target: number, tol: number): string[] {
    const hits: string[] = [];
    const factors = factorsOf(runs[0]!.plan);
    for (const id of Object.keys(runs[0]!.outputs)) {
      for (const f of factors.get(id.replace(/#\d+$/, '')) ?? [1]) {
        for (let slot = 0; slot < runs[0]!.outputs[id]!.length; slot++) {
          if (runs.every((r) => Math.abs((r.outputs[id]?.[slot] ?? Number.NaN) * f - target) < tol)) hits.push(`${id}[${slot}]×${f}`);
        }
      }
    }
    return hits;
  }

  async function events(query: string): Promise<Record<string, Json>[]> {
    const r = await call(s.url, 'GET', `/ledger/entries?${query}&limit=1000`, { token: consumer });
    assert.equal(r.status, 200, r.text);
    return (r.body.entries as { event: Record<string, Json> }[]).map((e) => e.event);
  }

  it('an exact aligned job with minGroupSize 5 is refused with ALIGNED_NOISE_REQUIRED (dry run, submit, ledger)', async () => {
    const b = await bindings(5);
    const req = await body(scenario('joint-exact', { minGroupSize: 5 }), b);
    const dry = await call(s.url, 'POST', '/jobs?dryRun=true', { token: consumer, body: req });
    assert.equal(dry.status, 200, dry.text);
    assert.equal(dry.body.allow, false);
    assert.deepEqual(
      (dry.body.decisions as { role: string; reasons: { code: string }[] }[]).map((x) => [x.role, x.reasons.map((r) => r.code)]),
      [
        ['reg', ['ALIGNED_NOISE_REQUIRED']],
        ['pay', ['ALIGNED_NOISE_REQUIRED']],
      ],
    );
    const sub = await call(s.url, 'POST', '/jobs', { token: consumer, body: req });
    assert.equal(sub.status, 403, sub.text);
    assert.equal(sub.body.error, 'POLICY_REFUSED');
    assert.deepEqual([...new Set((sub.body.details as { code: string }[]).map((x) => x.code))], ['ALIGNED_NOISE_REQUIRED']);
    const end = Date.now() + 30_000;
    let codes: string[] = [];
    while (Date.now() < end) {
      const ev = await events(`type=job.refused&dataset=${b.reg}`);
      codes = ev.flatMap((e) => ((e.data as { reasons: { codes: string[] }[] }).reasons ?? []).flatMap((x) => x.codes));
      if (codes.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(codes.includes('ALIGNED_NOISE_REQUIRED'), `ledger refusal codes: ${JSON.stringify(codes)}`);
    const dryEv = await events(`type=job.dry-run&dataset=${b.reg}`);
    assert.ok(dryEv.length > 0, 'the dry run is a ledger event');
  });

  it(
    'the noisy job runs, and no decrypted slot reads the small joint group, or any exact joint count, in every run',
    { timeout: 600_000 },
    async () => {
      const b = await bindings(5);
      // ε 0.05 per release: a count's discrete Laplace noise is 0 with probability tanh(ε/2) ≈ 0.025, so a noisy count
      // slot equals the truth in all three runs with probability ≈ 1.6e-5
      const sc = scenario('joint-noisy', { minGroupSize: 5, noise: { mechanism: 'laplace', epsilon: 0.05 } });
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await runAndDecrypt(sc, b));
      // the joint count is released, and only as a noise node's output
      const plan = runs[0]!.plan;
      const nodes = new Map(plan.circuit.nodes.map((n) => [n.id, n]));
      const joint = plan.conditions.filter((c) => c.jointCount);
      assert.ok(joint.length > 0, 'a noisy joint count is released for the SDK');
      for (const o of plan.outputs) assert.equal(nodes.get(o.node)?.op, 'noise', `output ${o.id} is not noisy`);
      assert.deepEqual(steadyAt(runs, d.joint.b!, 0.5), [], 'the small group’s exact joint count (1)');
      assert.deepEqual(steadyAt(runs, SMALL_VALUE, 0.5), [], 'the small group’s exact value');
      for (const [g, n] of Object.entries(d.joint)) assert.deepEqual(steadyAt(runs, n, 0.5), [], `the exact joint count of group ${g}`);
    },
  );

  it(
    'control: with minGroupSize 1 an exact aligned job runs and the same scan reads the exact joint count (the test can tell)',
    { timeout: 600_000 },
    async () => {
      const b = await bindings(1);
      const sc = scenario('joint-control', { minGroupSize: 1 });
      const runs = [];
      for (let i = 0; i < 2; i++) runs.push(await runAndDecrypt(sc, b));
      assert.ok(steadyAt(runs, d.joint.b!, 0.5).length > 0, 'the exact joint count 1 of group b is readable');
      assert.ok(steadyAt(runs, SMALL_VALUE, 0.01).length > 0, 'the exact value of group b is readable');
    },
  );
});
