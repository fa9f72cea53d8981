import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import {
  HeEngine, decodeSecretKeyset, encodePublicKeyset, encodeSecretKeyset, type HeParams, type SecretKeyset,
} from '#he-core';
import { type Plan, type ParamValues, type Scenario, compilePlan } from '#scenario';

/** Every power-of-two rotation up to half the slots: enough for any plan at these parameters. */
export function allPowerOfTwoSteps(slots: number): number[] {
  const out: number[] = [];
  for (let s = 1; s < slots; s *= 2) out.push(s);
  return out;
}

/** Placeholder parameter values with the right types, to find a scenario's HE parameters before binding. */
export function placeholderParams(s: Scenario): ParamValues {
  const out: ParamValues = {};
  for (const [name, p] of Object.entries(s.params ?? {})) {
    if (p.default !== undefined) out[name] = p.default;
    else if (p.type === 'number') out[name] = 1;
    else if (p.type === 'number-list') out[name] = [1];
    else if (p.type === 'id-list') out[name] = ['k'];
    else out[name] = p.values?.[0] ?? '';
  }
  return out;
}

/** The HE parameters and keys a consumer needs for a plan (or for a scenario, before binding). */
export function keyRequirements(planOrScenario: Plan | Scenario, params?: ParamValues): { params: HeParams; galoisSteps: number[]; relin: boolean } {
  let plan: Plan;
  if ('format' in planOrScenario && planOrScenario.format === 'dataspace-plan/1') plan = planOrScenario;
  else {
    const s = planOrScenario as Scenario;
    const r = compilePlan(s, params ?? placeholderParams(s), {});
    if (!r.ok) throw new Error(`scenario ${s.id} cannot be planned: ${r.errors[0]?.message ?? 'unknown reason'}`);
    plan = r.plan;
  }
  const p = plan.params as unknown as HeParams;
  return { params: p, galoisSteps: [...new Set([...allPowerOfTwoSteps(plan.slots), ...plan.galoisSteps])].sort((a, b) => a - b), relin: true };
}

/**
 * Generates a keyset on the consumer's machine and writes it to `file` with mode 0600. The secret key is
 * written there and nowhere else; only `publicKeyset` ever leaves this process.
 */
export async function generateKeyFile(file: string, req: { params: HeParams; galoisSteps: number[]; relin: boolean }): Promise<{ fingerprint: string; params: HeParams }> {
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
