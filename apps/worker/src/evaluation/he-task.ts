import { HeEngine, decodePublicKeyset, paramsId, type Ct, type HeParams } from '#he-core';
import { type EvaluationMeta, type Plan, evaluateCircuit, reduceChunks } from '#scenario';

/** Work a broker HE thread does. Only ciphertexts, public keys and metadata cross this boundary. */
export type HeTask =
  | { kind: 'reduce'; params: HeParams; chunks: Uint8Array[] }
  | {
      kind: 'evaluate';
      plan: Plan;
      publicKeyset: Uint8Array;
      inputs: Record<string, Record<string, Uint8Array[]>>;
      privateParams: Record<string, Uint8Array>;
      groupCounts: Record<string, Record<string, number[]>>;
    };

export type HeTaskResult =
  { kind: 'reduce'; ct: Uint8Array } | { kind: 'evaluate'; outputs: Record<string, Uint8Array>; meta: EvaluationMeta };

const engines = new Map<string, Promise<HeEngine>>();
function engineFor(params: HeParams): Promise<HeEngine> {
  const id = paramsId(params);
  const known = engines.get(id);
  if (known) return known;
  const e = HeEngine.create(params);
  engines.set(id, e);
  return e;
}

export async function runHeTask(task: HeTask): Promise<HeTaskResult> {
  if (task.kind === 'reduce') {
    const engine = await engineFor(task.params);
    return engine.scope(() => {
      const cts = task.chunks.map((b) => engine.load(b));
      return { kind: 'reduce' as const, ct: engine.save(reduceChunks(engine, cts)) };
    });
  }
  const engine = await engineFor(task.plan.params);
  const pk = engine.usePublicKeyset(decodePublicKeyset(task.publicKeyset));
  try {
    return engine.scope(() => {
      const inputs: Record<string, Record<string, Ct[]>> = {};
      for (const [role, feats] of Object.entries(task.inputs)) {
        inputs[role] = {};
        for (const [f, chunks] of Object.entries(feats)) inputs[role]![f] = chunks.map((b) => engine.load(b));
      }
      const privateParams: Record<string, Ct> = {};
      for (const [n, b] of Object.entries(task.privateParams)) privateParams[n] = engine.load(b);
      const r = evaluateCircuit(engine, pk, task.plan, inputs, {
        // Laplace noise, fill and flooding from the CSPRNG (circuit.ts: `random` defaults to node:crypto)
        privateParams,
        groupCounts: task.groupCounts,
      });
      const outputs: Record<string, Uint8Array> = {};
      for (const [id, ct] of Object.entries(r.outputs)) outputs[id] = engine.save(ct);
      return { kind: 'evaluate' as const, outputs, meta: r.meta };
    });
  } finally {
    engine.releaseKeys(pk);
  }
}
