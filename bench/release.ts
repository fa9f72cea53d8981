/**
 * Release hygiene (issue: the release and nothing else): what `releaseFill` (x + conj(x) + a fresh
 * encryption of the fill) costs per output ciphertext at each preset, and what that adds to each built-in
 * scenario's evaluation (its number of output ciphertexts × the per-output cost), beside the cost of the
 * circuit it follows (the plan's own evaluation on real CKKS at a small size).
 */
import { HeEngine, type HeParams } from '#he-core';
import {
  CATALOG_IDS,
  builtinScenario,
  compilePlan,
  defaultParams,
  encodeRole,
  evaluateCircuit,
  generateRoleRows,
  seededRandom,
  type Plan,
} from '#scenario';
import type { BenchContext } from './lib/context.js';

const SR = 'Release hygiene: cost per output ciphertext';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median ms of `releaseFill` on a ciphertext one level down (where a masked output sits), at the plan's preset. */
async function perOutputMs(params: HeParams, runs: number): Promise<number> {
  const engine = await HeEngine.create(params);
  const ks = engine.generateKeyset({ galoisSteps: [0], relin: false });
  const pk = engine.usePublicKeyset(ks.publicKeyset);
  try {
    const times: number[] = [];
    engine.scope(() => {
      const x = engine.multiplyConst(engine.encrypt(pk, new Float64Array(engine.slots).fill(3)), 1);
      const fill = new Float64Array(engine.slots).fill(1);
      for (let i = 0; i < runs; i++) {
        const t = performance.now();
        engine.free(engine.releaseFill(x, pk, () => fill));
        times.push(performance.now() - t);
      }
    });
    return median(times);
  } finally {
    engine.releaseKeys(pk);
    engine.dispose();
  }
}

/** Output ciphertexts a plan releases (a row-level output counts once per chunk of keys). */
function outputCiphertexts(plan: Plan): number {
  const keys = plan.align?.keys?.length ?? 0;
  let n = 0;
  for (const o of plan.outputs) {
    const rows = Object.values(plan.decoding.metrics).some((d) => d.kind === 'rows' && d.outputs.includes(o.id));
    n += rows ? Math.max(1, Math.ceil(keys / plan.slots)) : 1;
  }
  return n;
}

export async function benchRelease(ctx: BenchContext): Promise<void> {
  const { report } = ctx;
  report.heading(SR);
  const runs = ctx.quick ? 5 : 20;
  const per = new Map<string, number>();
  for (const ids of CATALOG_IDS) {
    const s = builtinScenario(ids);
    const r = compilePlan(s, defaultParams(ids), {});
    if (!r.ok) continue;
    const key = JSON.stringify(r.plan.params);
    if (!per.has(key)) {
      const ms = await perOutputMs(r.plan.params, runs);
      per.set(key, ms);
      report.add({
        section: SR,
        name: `releaseFill at N=${r.plan.params.polyModulusDegree}, chain ${r.plan.params.coeffModulusBits.join('.')}`,
        value: ms,
        unit: 'ms',
        note: `median of ${runs}: one conjugation (key switch), one encode + encryption, two adds`,
      });
    }
  }
  // Per scenario: the extra work against the evaluation of the circuit itself (real CKKS, 200 rows per role).
  const rows = 200;
  const lines: string[] = [];
  for (const id of CATALOG_IDS.slice(0, ctx.quick ? 6 : CATALOG_IDS.length)) {
    const s = builtinScenario(id);
    const params = defaultParams(id);
    const data: Record<string, ReturnType<typeof generateRoleRows>> = {};
    for (const role of Object.keys(s.inputs)) data[role] = generateRoleRows(id, role, { rows, seed: 11 });
    const counts = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.length]));
    const r = compilePlan(s, params, { rowCounts: counts });
    if (!r.ok) continue;
    const plan = r.plan;
    const engine = await HeEngine.create(plan.params);
    const ks = engine.generateKeyset({ galoisSteps: plan.galoisSteps, relin: plan.needsRelin });
    const pk = engine.usePublicKeyset(ks.publicKeyset);
    try {
      const ms = engine.scope(() => {
        const keys =
          plan.align?.keys ?? (plan.align ? Object.values(data)[0]!.map((x) => String(x[Object.values(plan.align!.on)[0]!])) : undefined);
        const inputs: Record<string, Record<string, ReturnType<HeEngine['encrypt']>[]>> = {};
        const groupCounts: Record<string, Record<string, number[]>> = {};
        for (const role of Object.keys(plan.roles)) {
          const enc = encodeRole(plan, role, data[role]!, keys ? { keys } : {});
          inputs[role] = Object.fromEntries(enc.features.map((f) => [f.id, f.chunks.map((c) => engine.encrypt(pk, c))]));
          groupCounts[role] = enc.groupCounts;
        }
        const privateParams: Record<string, ReturnType<HeEngine['encrypt']>> = {};
        for (const p of plan.privateInputs) privateParams[p.name] = engine.encrypt(pk, new Float64Array(engine.slots).fill(0.5));
        const t = performance.now();
        evaluateCircuit(engine, pk, plan, inputs, {
          groupCounts,
          privateParams,
          random: seededRandom(id),
        });
        return performance.now() - t;
      });
      const outs = outputCiphertexts(plan);
      const extra = outs * per.get(JSON.stringify(plan.params))!;
      lines.push(
        `| ${id} | ${plan.params.polyModulusDegree} | ${outs} | ${extra.toFixed(0)} | ${ms.toFixed(0)} | ${((100 * extra) / ms).toFixed(0)}% |`,
      );
    } catch (e) {
      lines.push(`| ${id} | – | – | – | – | ${(e as Error).message.slice(0, 60)} |`);
    } finally {
      engine.releaseKeys(pk);
      engine.dispose();
    }
  }
  report.note(
    SR,
    [
      'per scenario, 200 rows per role (evaluation includes the hygiene):',
      '| scenario | N | output ciphertexts | hygiene ms | evaluation ms | share |',
      '| --- | --- | --- | --- | --- | --- |',
      ...lines,
    ].join('\n'),
  );
}
