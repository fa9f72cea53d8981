/**
 * The consumer as an adversary (issue: the release and nothing else). It holds its own secret key, knows the
 * plan, and decrypts every slot of every ciphertext it can fetch through the public API. For each layout it
 * tries the attacks that worked before release hygiene:
 * - dividing a masked-off slot by the mask's public encoding error (which it recomputes with its own keys:
 *   encrypt a large constant, apply the same mask at the same level, decrypt) to read a partial sum;
 * - differencing neighbouring partial sums to read single rows;
 * - reading the leader slot of a suppressed group the same way;
 * - under Laplace noise, reading the noise-free partial sums next to the noisy leaders;
 * - aligned metrics: least squares over the masked-off slots of the per-group masks, for every group total.
 * Each attack's error is compared with the value range: the suite asserts the attack does no better than a
 * guess from the range. The true partial sums come from the plaintext slot model of the same plan and rows.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeEngine, type Ct, type SecretKeyset } from '#he-core';
import { JobCiphertextEntity } from '#persistence';
import { DataspaceClient, generateKeyFile, keyRequirements, readKeyFile, submitJob, waitForJob } from '#sdk';
import { type Plan, type Row, type Scenario, encodeRole, evaluateCircuit, validateScenario } from '#scenario';
import { SlotEngine } from '../libs/scenario/src/compiler/slot-engine.testkit.js';
import { call, startTestServer } from './support/env.js';
import { toCsv } from './support/data.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const text = { description: 'attack suite' };
const col = {
  rid: { type: 'id', ...text },
  cat: { type: 'category', values: ['a', 'b', 'c'], ...text },
  x: { type: 'number', min: 0, max: 1000, ...text },
};

function blockedScenario(id: string, release: Record<string, unknown>): Scenario {
  return {
    id,
    title: id,
    sector: 'test',
    description: 'release attack suite',
    inputs: { p: { description: 'rows', columns: col } },
    params: {},
    metrics: [
      { name: 'n', agg: 'count', role: 'p', by: ['p.cat'], description: 'rows per category' },
      { name: 'total', agg: 'sum', of: 'p.x', by: ['p.cat'], description: 'x per category' },
    ],
    release,
  } as unknown as Scenario;
}

function alignedScenario(id: string): Scenario {
  return {
    id,
    title: id,
    sector: 'test',
    description: 'release attack suite, aligned rows',
    inputs: {
      reg: { description: 'registry', columns: { rid: col.rid, cat: col.cat } },
      pay: { description: 'payments', columns: { rid: col.rid, x: col.x } },
    },
    params: { keys: { type: 'id-list', description: 'the ids to align' } },
    align: { on: { reg: 'rid', pay: 'rid' }, keys: '$params.keys' },
    metrics: [{ name: 'paid', agg: 'sum', of: 'pay.x', by: ['reg.cat'], description: 'payments per registry category' }],
    release: { minGroupSize: 5, noise: { mechanism: 'laplace', epsilon: 0.5 } },
  } as unknown as Scenario;
}

/** Rows: 400 in a, 2 in b (below minGroupSize 5), 300 in c; x deterministic in [0, 1000]. */
function rows(): Row[] {
  const out: Row[] = [];
  const sizes: [string, number][] = [
    ['a', 400],
    ['b', 2],
    ['c', 300],
  ];
  let i = 0;
  for (const [cat, n] of sizes)
    for (let k = 0; k < n; k++, i++) out.push({ rid: `r${i}`, cat, x: Math.round(((i * 7919) % 1000) * 100) / 100 });
  return out;
}

interface Fetched {
  plan: Plan;
  outputs: Record<string, Float64Array>;
  meta: { suppressedGroups?: Record<string, number[]> } | null;
}

/** Everything the consumer can fetch, every slot decrypted with its own secret key. */
async function fetchAll(url: string, token: string, jobId: string, keys: SecretKeyset): Promise<Fetched> {
  const r = await call(url, 'GET', `/jobs/${jobId}/result`, { token });
  assert.equal(r.status, 200, r.text);
  const plan = r.body.plan as Plan;
  const engine = await HeEngine.create(plan.params);
  const sk = engine.useSecretKeyset(keys);
  try {
    const outputs: Record<string, Float64Array> = {};
    for (const [id, b64] of Object.entries(r.body.outputs as Record<string, string>)) {
      outputs[id] = engine.scope(() => engine.decrypt(sk, engine.load(new Uint8Array(Buffer.from(b64, 'base64')))));
    }
    return { plan, outputs, meta: r.body.meta };
  } finally {
    engine.releaseKeys(sk);
    engine.dispose();
  }
}

/**
 * The mask's per-slot encoding error ε_j at a level, as the consumer can recompute it: encrypt 2^20 in every
 * slot, bring it to the level with exact multiplications by the constant 1, apply the mask, decrypt.
 */
async function maskError(plan: Plan, keys: SecretKeyset, mask: Float64Array, level: number): Promise<Float64Array> {
  const engine = await HeEngine.create(plan.params);
  const pk = engine.usePublicKeyset(keys.publicKeyset);
  const sk = engine.useSecretKeyset(keys);
  try {
    return engine.scope(() => {
      const big = 2 ** 20;
      let ct: Ct = engine.encrypt(pk, new Float64Array(engine.slots).fill(big));
      for (let l = 0; l < level; l++) ct = engine.multiplyConst(ct, 1);
      const d = engine.decrypt(sk, engine.multiplyPlain(ct, mask));
      return d.map((v, j) => v / big - mask[j]!);
    });
  } finally {
    engine.releaseKeys(pk);
    engine.releaseKeys(sk);
    engine.dispose();
  }
}

/**
 * The truth the attacker is after: each output's values just before its mask (partial sums, suppressed
 * groups, noise-free totals), from the plaintext slot model of the same plan and rows (no error, no fill).
 */
function preMaskTruth(plan: Plan, data: Record<string, Row[]>, keys?: string[]): Record<string, Float64Array> {
  const byId = new Map(plan.circuit.nodes.map((n) => [n.id, n]));
  const unmasked = (id: string): string => {
    let n = byId.get(id)!;
    while (n.op === 'noise' || n.op === 'mask') n = byId.get(n.a)!;
    return n.id;
  };
  const probe: Plan = JSON.parse(
    JSON.stringify({ ...plan, outputs: plan.outputs.map((o) => ({ ...o, node: unmasked(o.node), anyGroup: false })), conditions: [] }),
  );
  class Exact extends SlotEngine {
    override releaseFill(a: { v: Float64Array; level: number; scale: number; freed: boolean }): {
      v: Float64Array;
      level: number;
      scale: number;
      freed: boolean;
    } {
      return { ...a, v: Float64Array.from(a.v), freed: false };
    }
  }
  const engine = new Exact(plan.slots, 20, 0, () => 0.5, 0);
  const inputs: Record<string, Record<string, ReturnType<SlotEngine['encrypt']>[]>> = {};
  for (const role of Object.keys(plan.roles)) {
    const enc = encodeRole(plan, role, data[role]!, keys ? { keys } : {});
    inputs[role] = {};
    for (const f of enc.features) inputs[role]![f.id] = f.chunks.map((c) => engine.encrypt(null, c));
  }
  const r = evaluateCircuit(engine, null, probe, inputs, {});
  const out: Record<string, Float64Array> = {};
  for (const [id, ct] of Object.entries(r.outputs)) out[id] = ct.v;
  return out;
}

describe('release attack suite: a consumer that decrypts every slot learns the release and nothing else', () => {
  let s: Server;
  let dir: string;
  let provider: string;
  let consumer: string;
  const data = rows();

  before(async () => {
    s = await startTestServer();
    dir = mkdtempSync(join(tmpdir(), 'ds-attack-'));
    provider = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'provider', name: 'holder' } })).body.token;
    consumer = (await call(s.url, 'POST', '/participants', { token: s.adminToken, body: { role: 'consumer', name: 'attacker' } })).body
      .token;
  });
  after(async () => {
    await s.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function dataset(columns: Record<string, unknown>, rowsOf: Row[]): Promise<string> {
    const doc = {
      name: 'attack data',
      description: 'rows the attacker wants',
      columns,
      policy: {
        consumers: ['*'],
        purposes: ['research'],
        aggregations: ['sum', 'count', 'mean', 'ratio'],
        rowLevel: false,
        minGroupSize: 5,
        epsilonBudget: null,
        expiresAt: null,
      },
    };
    const reg = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    const imp = await call(s.url, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(columns), rowsOf),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    return reg.body.id as string;
  }

  async function run(
    sc: Scenario,
    bindings: Record<string, string>,
    params: Record<string, unknown> = {},
  ): Promise<{ keys: SecretKeyset; got: Fetched; jobId: string }> {
    const v = validateScenario(sc);
    assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
    const reg = await call(s.url, 'POST', '/scenarios', { token: consumer, body: sc });
    assert.equal(reg.status, 201, reg.text);
    const file = join(dir, `${sc.id}.keys`);
    await generateKeyFile(file, keyRequirements(sc, params as never));
    const keys = readKeyFile(file);
    const client = new DataspaceClient({ url: s.url, token: consumer });
    const sub = await submitJob(client, keys, sc, { scenario: sc.id, bindings, purpose: 'research', params: params as never });
    const st = await waitForJob(client, String(sub.id), undefined, 200, 180_000);
    assert.equal(st.status, 'completed', JSON.stringify(st.error));
    return { keys, got: await fetchAll(s.url, consumer, String(sub.id), keys), jobId: String(sub.id) };
  }

  /** The masks of an output: its mask nodes (through noise and adds), with their levels. */
  function masksOf(got: Fetched, output: string): { vec: Float64Array; level: number; groups: number[] }[] {
    const plan = got.plan;
    const byId = new Map(plan.circuit.nodes.map((n) => [n.id, n]));
    const o = plan.outputs.find((x) => x.id === output)!;
    const out: { vec: Float64Array; level: number; groups: number[] }[] = [];
    const walk = (id: string): void => {
      const n = byId.get(id)!;
      if (n.op === 'noise') walk(n.a);
      else if (n.op === 'add') n.args.forEach(walk);
      else if (n.op === 'mask') {
        // as the broker applied it: groups the result says were suppressed are 0 in the mask
        const off = new Set(n.conditions.flatMap((c) => got.meta?.suppressedGroups?.[c] ?? []));
        const vec = new Float64Array(plan.slots);
        for (const e of n.entries) if (!off.has(e.group)) vec[e.slot] = e.scale;
        out.push({ vec, level: byId.get(n.a)!.level, groups: n.entries.map((e) => e.group) });
      }
    };
    walk(o.node);
    return out;
  }

  const gain = (plan: Plan): number => (plan.galoisSteps.includes(0) ? 2 : 1); // outputs doubled by the conjugation

  /**
   * Divides every masked-off slot by the recomputed mask error; returns the attacker's estimates and the
   * slots it attacked (non-leader slots inside the occupied blocks, where the truth is a partial sum).
   */
  async function divideByMask(
    got: Fetched,
    keys: SecretKeyset,
    output: string,
    truth: Float64Array,
  ): Promise<{ est: Float64Array; slots: number[] }> {
    const plan = got.plan;
    const dec = got.outputs[output]!;
    const [m] = masksOf(got, output);
    assert.ok(m, `output ${output} has a mask`);
    const eps = await maskError(plan, keys, m.vec, m.level);
    const k = gain(plan);
    const est = dec.map((d, j) => d / (k * (m.vec[j]! + eps[j]!)));
    const slots: number[] = [];
    for (let j = 0; j < plan.slots; j++) if (m.vec[j] === 0 && Math.abs(truth[j]!) > 0) slots.push(j);
    return { est, slots };
  }

  it('blocked count and sum with minGroupSize: no partial sum, no single row, no suppressed group', async () => {
    const sc = blockedScenario('attack-blocked', { minGroupSize: 5 });
    const ds = await dataset(col, data);
    const { keys, got, jobId } = await run(sc, { p: ds });
    // the job's inputs and intermediates went with it: only the released outputs remain
    const left = await s.dataSource.getRepository(JobCiphertextEntity).find({ select: { kind: true }, where: { jobId } });
    assert.deepEqual([...new Set(left.map((r) => r.kind))], ['result']);
    const truth = preMaskTruth(got.plan, { p: data });
    const dn = got.plan.decoding.metrics.n!;
    const dt = got.plan.decoding.metrics.total!;
    assert.equal(dn.kind, 'value');
    assert.equal(dt.kind, 'value');
    if (dn.kind !== 'value' || dt.kind !== 'value') return;
    for (const d of [dn, dt]) await noPartialSums(got, keys, d.read, truth[d.read.output]!, 1);
  });

  /**
   * TOTALS layout (compiler README, "Layouts"): each provider sends its group totals, so before its mask an
   * output holds the group totals at their leader slots and nothing else: no partial sum and no single row
   * exists in any ciphertext to attack (the partial sums issue 15 read here came from per-row blocks). What the
   * masks take away is then only the suppressed groups' totals: the attack divides those slots by the mask's
   * recomputed error and must do no better than the value itself.
   */
  async function noPartialSums(got: Fetched, keys: SecretKeyset, read: import('#scenario').Read, truth: Float64Array, suppressed: number) {
    const o = read.output;
    const { est, slots } = await divideByMask(got, keys, o, truth);
    const offLeaders = read.slots.filter((j) => masksOf(got, o)[0]!.vec[j] === 0);
    assert.equal(offLeaders.length, suppressed, `${o}: suppressed groups`);
    assert.deepEqual(slots, offLeaders, `${o}: the only values the mask takes away are suppressed groups' totals, no partial sum`);
    for (const j of slots) {
      assert.ok(truth[j]! > 0, 'the suppressed group has a value before its mask');
      assert.ok(
        Math.abs(est[j]! - truth[j]!) > truth[j]!,
        `suppressed group of ${o}: estimate ${est[j]!.toExponential(3)} vs truth ${truth[j]}`,
      );
    }
  }

  it('Laplace noise: the masked-off slots carry no noise-free partial sum or suppressed total', async () => {
    const sc = blockedScenario('attack-noisy', { minGroupSize: 5, noise: { mechanism: 'laplace', epsilon: 0.5 } });
    const ds = await dataset(col, data);
    const { keys, got } = await run(sc, { p: ds });
    const truth = preMaskTruth(got.plan, { p: data });
    const dt = got.plan.decoding.metrics.total!;
    if (dt.kind !== 'value') assert.fail('total decodes as a value');
    const o = dt.read.output;
    await noPartialSums(got, keys, dt.read, truth[o]!, 1);
  });

  it('quotients release quotients: no operand of a ratio (internal ones included) or of a mean over two roles', async () => {
    const sc = {
      id: 'attack-quotients',
      title: 'attack-quotients',
      sector: 'test',
      description: 'release attack suite, quotients',
      inputs: { p: { description: 'rows', columns: col }, q: { description: 'more rows', columns: col } },
      params: {},
      metrics: [
        { name: 'spend', agg: 'sum', of: 'p.x', by: ['p.cat'], release: false, description: 'internal numerator' },
        { name: 'rows', agg: 'count', role: 'p', by: ['p.cat'], release: false, description: 'internal denominator' },
        { name: 'per_row', agg: 'ratio', of: ['spend', 'rows'], description: 'the only release of these two' },
        { name: 'avg', agg: 'mean', of: ['p.x', 'q.x'], by: ['p.cat'], description: 'mean over both roles' },
      ],
      release: { minGroupSize: 5 },
    } as unknown as Scenario;
    const big = data.filter((r) => r.cat !== 'b');
    const pDs = await dataset(col, big);
    const qDs = await dataset(
      col,
      big.map((r, i) => ({ ...r, rid: `q${i}`, x: Number(r.x) / 2 })),
    );
    const { got } = await run(sc, { p: pDs, q: qDs });
    const cats = ['a', 'b', 'c'];
    const truth = {
      spend: cats.map((c) => big.filter((r) => r.cat === c).reduce((a, r) => a + Number(r.x), 0)),
      rows: cats.map((c) => big.filter((r) => r.cat === c).length),
      sum2: cats.map((c) => big.filter((r) => r.cat === c).reduce((a, r) => a + 1.5 * Number(r.x), 0)),
      n2: cats.map((c) => 2 * big.filter((r) => r.cat === c).length),
    };
    const reads: [string, import('#scenario').Read, number[]][] = [];
    const m = got.plan.decoding.metrics;
    const ratio = m.per_row!;
    if (ratio.kind !== 'ratio') assert.fail('per_row decodes as a ratio');
    for (const [name, want] of [
      [ratio.a, truth.spend],
      [ratio.b, truth.rows],
    ] as const) {
      const d = m[name];
      assert.ok(d, `the plan decodes ${name}`);
      if (d.kind === 'value') reads.push([name, d.read, want]);
    }
    const avg = m.avg!;
    if (avg.kind !== 'quotient') assert.fail('avg decodes as a quotient');
    reads.push(['avg numerator', avg.num, truth.sum2], ['avg denominator', avg.den, truth.n2]);
    for (const [name, r, want] of reads) {
      // the attacker reads the operand as the slot value times the plan's factor; a blinding factor in
      // [1, 2^B) is unknown to it, its best estimate divides by the middle of the range, 2^(B/2)
      const k = r.blinded ? 2 ** 10 : 1;
      const errs = [0, 2].map((g) => Math.abs((got.outputs[r.output]![r.slots[g]!]! * r.factor) / k - want[g]!) / want[g]!);
      assert.ok(Math.max(...errs) > 0.5, `${name}: the operand is read within ${(Math.max(...errs) * 100).toFixed(3)}% (groups a and c)`);
    }
  });

  it("row level: the consumer reads each listed key's value and nothing of the rows it did not list", async () => {
    const sc = {
      id: 'attack-rows',
      title: 'attack-rows',
      sector: 'test',
      description: 'release attack suite, row level',
      inputs: { p: { description: 'rows', columns: { rid: col.rid, x: col.x } } },
      params: { keys: { type: 'id-list', description: 'the ids to score' } },
      align: { on: { p: 'rid' }, keys: '$params.keys' },
      metrics: [{ name: 'score', agg: 'weightedSum', of: ['p.x'], weights: [2], bias: 1, description: 'per listed row' }],
      release: { rowLevel: true },
    } as unknown as Scenario;
    const all = data.map((r) => ({ rid: r.rid, x: r.x }));
    const cols = { rid: col.rid, x: col.x };
    const doc = {
      name: 'attack rows',
      description: 'row-level data',
      columns: cols,
      policy: {
        consumers: ['*'],
        purposes: ['research'],
        aggregations: ['weightedSum'],
        rowLevel: true,
        minGroupSize: 1,
        epsilonBudget: null,
        expiresAt: null,
      },
    };
    const reg = await call(s.url, 'POST', '/datasets', { token: provider, body: doc });
    assert.equal(reg.status, 201, reg.text);
    const imp = await call(s.url, 'POST', `/datasets/${reg.body.id}/rows`, {
      token: provider,
      raw: toCsv(Object.keys(cols), all),
      headers: { 'content-type': 'text/csv' },
    });
    assert.equal(imp.status, 200, imp.text);
    const listed = all.slice(0, 10).map((r) => String(r.rid));
    const { got } = await run(sc, { p: reg.body.id as string }, { keys: listed });
    const d = got.plan.decoding.metrics.score!;
    if (d.kind !== 'rows') assert.fail('score decodes per row');
    const out = got.outputs[`${d.outputs[0]}#0`]!;
    // the listed keys: their scores, as released
    listed.forEach((k, i) => assert.ok(Math.abs(out[i]! * d.factor - (1 + 2 * Number(all[i]!.x))) < 1e-3, `score of ${k}`));
    // every other slot: no row of an unlisted key (the providers never encode one); what the slot held (zero)
    // is drowned in the fill, uniform in ±2^22 slot units: half the slots below 2^21 in magnitude
    const rest = Array.from(out.subarray(listed.length));
    const small = rest.filter((v) => Math.abs(v) < 2 ** 21).length / rest.length;
    assert.ok(small > 0.45 && small < 0.55, `unread slots: ${(small * 100).toFixed(1)}% below 2^21, expected a uniform fill`);
    assert.ok(Math.max(...rest.map(Math.abs)) > 2 ** 20, 'unread slots hold the fill');
  });

  it('aligned rows under Laplace noise: least squares across the per-group masks recovers no noise-free group total', async () => {
    const sc = alignedScenario('attack-aligned');
    const regRows = data.map((r) => ({ rid: r.rid, cat: r.cat }));
    const payRows = data.map((r) => ({ rid: r.rid, x: r.x }));
    const regDs = await dataset({ rid: col.rid, cat: col.cat }, regRows);
    const payDs = await dataset({ rid: col.rid, x: col.x }, payRows);
    const keysList = data.map((r) => String(r.rid));
    const { keys, got } = await run(sc, { reg: regDs, pay: payDs }, { keys: keysList });
    const d = got.plan.decoding.metrics.paid!;
    if (d.kind !== 'value') assert.fail('paid decodes as a value');
    const o = d.read.output;
    // a suppressed group's mask is all zeros (an exact zero ciphertext): nothing of it to solve for
    const masks = masksOf(got, o).filter((m) => m.vec.some((v) => v !== 0));
    assert.ok(masks.length >= 2, 'one mask per released group');
    const eps = await Promise.all(masks.map((m) => maskError(got.plan, keys, m.vec, m.level)));
    const leaders = new Set(d.read.slots);
    const rowsJ = [...Array(got.plan.slots).keys()].filter((j) => !leaders.has(j));
    // least squares: dec_j = k · Σ_g T_g · ε_g,j over the masked-off slots
    const G = masks.length;
    const A = Array.from({ length: G }, () => new Float64Array(G));
    const bvec = new Float64Array(G);
    const k = gain(got.plan);
    for (const j of rowsJ) {
      for (let g = 0; g < G; g++) {
        bvec[g] += k * eps[g]![j]! * got.outputs[o]![j]!;
        for (let h = 0; h < G; h++) A[g]![h] += k * k * eps[g]![j]! * eps[h]![j]!;
      }
    }
    // Gaussian elimination
    const T = Array.from(bvec);
    const M = A.map((r) => Array.from(r));
    for (let c = 0; c < G; c++) {
      let p = c;
      for (let r = c + 1; r < G; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
      [M[c], M[p]] = [M[p]!, M[c]!];
      [T[c], T[p]] = [T[p]!, T[c]!];
      for (let r = c + 1; r < G; r++) {
        const f = M[r]![c]! / M[c]![c]!;
        for (let q = c; q < G; q++) M[r]![q]! -= f * M[c]![q]!;
        T[r]! -= f * T[c]!;
      }
    }
    for (let c = G - 1; c >= 0; c--) {
      for (let q = c + 1; q < G; q++) T[c]! -= M[c]![q]! * T[q]!;
      T[c]! /= M[c]![c]!;
    }
    // truth: each group's total in slot units (the factor the plan applies to the leader, undone)
    const want = ['a', 'b', 'c'].map((cat) => data.filter((r) => r.cat === cat).reduce((acc, r) => acc + Number(r.x), 0));
    const unit = Math.abs(d.read.factor) * k; // slot value × unit = real value, before the doubling
    masks.forEach((m, idx) => {
      const g = m.groups[0]!;
      const est = T[idx]! * unit;
      const range = data.filter((r) => r.cat === ['a', 'b', 'c'][g]).length * 1000;
      assert.ok(
        Math.abs(est - want[g]!) > range / 4,
        `group ${g}: least-squares estimate ${est.toExponential(3)} vs truth ${want[g]} (range ${range})`,
      );
    });
  });
});
