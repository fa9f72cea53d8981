import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { HeEngine, decodeSecretKeyset, encodePublicKeyset, encodeSecretKeyset, type HeParams, type SecretKeyset } from '#he-core';
import { type Plan, type ParamValues, type Scenario, compilePlan } from '#scenario';

/** Every power-of-two rotation up to half the slots: enough for any plan at these parameters. */
export function allPowerOfTwoSteps(slots: number): number[] {
  const out: number[] = [];
  for (let s = 1; s < slots; s *= 2) out.push(s);
  return out;
}

const PARAM_REF = /^\$params\.(.+)$/;

/** Groups of a metric's `by` (1 when ungrouped or unknown). */
function groupsOf(s: Scenario, metricName: string): number {
  const m = s.metrics.find((x) => x.name === metricName) as { by?: string | string[] } | undefined;
  const by = m?.by === undefined ? [] : Array.isArray(m.by) ? m.by : [m.by];
  let g = 1;
  for (const ref of by) {
    const [role, column] = ref.split('.') as [string, string];
    const spec = s.inputs[role]?.columns[column] as { values?: string[] } | undefined;
    g *= spec?.values?.length ?? 1;
  }
  return g;
}

/**
 * Lengths the scenario itself gives its public number-list parameters: a weightedSum's `weights` has one
 * value per `of` ref, a `dot`'s list one per group of its first operand. Key requirements (parameters, depth,
 * rotations) depend on these shapes, never on the values, so placeholders of these lengths plan the same keys.
 */
function listLengths(s: Scenario): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of s.metrics as unknown as { name: string; agg: string; of?: unknown; weights?: unknown }[]) {
    if (m.agg === 'weightedSum' && typeof m.weights === 'string' && Array.isArray(m.of)) {
      const name = PARAM_REF.exec(m.weights)?.[1];
      if (name) out.set(name, m.of.length);
    }
    if (m.agg === 'dot' && Array.isArray(m.of) && typeof m.of[1] === 'string' && typeof m.of[0] === 'string') {
      const name = PARAM_REF.exec(m.of[1])?.[1];
      if (name) out.set(name, groupsOf(s, m.of[0]));
    }
  }
  return out;
}

/** Placeholder parameter values with the right types and shapes, to find a scenario's HE parameters before binding. */
export function placeholderParams(s: Scenario): ParamValues {
  const out: ParamValues = {};
  const lengths = listLengths(s);
  for (const [name, p] of Object.entries(s.params ?? {})) {
    if (p.default !== undefined) out[name] = p.default;
    else if (p.type === 'number') out[name] = 1;
    else if (p.type === 'number-list') out[name] = Array.from({ length: lengths.get(name) ?? 1 }, () => 1);
    else if (p.type === 'id-list') out[name] = ['k'];
    else out[name] = p.values?.[0] ?? '';
  }
  return out;
}

/** The HE parameters and keys a consumer needs for a plan (or for a scenario, before binding). */
export function keyRequirements(
  planOrScenario: Plan | Scenario,
  params?: ParamValues,
): { params: HeParams; galoisSteps: number[]; relin: boolean } {
  let plan: Plan;
  if ('format' in planOrScenario && planOrScenario.format === 'dataspace-plan/1') plan = planOrScenario;
  else {
    const s = planOrScenario as Scenario;
    const r = compilePlan(s, { ...placeholderParams(s), ...(params ?? {}) }, {});
    if (!r.ok) throw new Error(`scenario ${s.id} cannot be planned: ${r.errors[0]?.message ?? 'unknown reason'}`);
    plan = r.plan;
  }
  const p = plan.params;
  return {
    params: p,
    galoisSteps: [...new Set([...allPowerOfTwoSteps(plan.slots), ...plan.galoisSteps])].sort((a, b) => a - b),
    relin: true,
  };
}

/**
 * Generates a keyset on the consumer's machine and writes it to `file` with mode 0600. The secret key is
 * written there and nowhere else; only `publicKeyset` ever leaves this process.
 */
export async function generateKeyFile(
  file: string,
  req: { params: HeParams; galoisSteps: number[]; relin: boolean },
): Promise<{ fingerprint: string; params: HeParams }> {
  const engine = await HeEngine.create(req.params);
  try {
    const ks = engine.generateKeyset({ galoisSteps: req.galoisSteps, relin: req.relin });
    writeFileSync(file, encodeSecretKeyset(ks), { mode: 0o600 });
    chmodSync(file, 0o600);
    return { fingerprint: ks.publicKeyset.fingerprint, params: ks.params };
  } finally {
    engine.dispose();
  }
}

export function readKeyFile(file: string): SecretKeyset {
  return decodeSecretKeyset(new Uint8Array(readFileSync(file)));
}

export function publicKeysetBytes(ks: SecretKeyset): Uint8Array {
  return encodePublicKeyset(ks.publicKeyset);
}
