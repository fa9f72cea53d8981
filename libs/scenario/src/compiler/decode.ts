/**
 * The consumer's side: turns decrypted outputs into the result document (docs/scenario-format.md,
 * "Result"), with the post-processing the plan prescribes (division, square root, Pearson r).
 */
import type { MetricValue, ResultDocument } from '../types.js';
import type { Condition, MetricDecoding, Plan, Read } from './plan-types.js';
import type { EvaluationMeta } from './circuit.js';

export interface DecodeInfo {
  job: string;
  version: number;
  /** rows per role (the broker's metadata) */
  rows?: Record<string, number>;
  /** aligned keys missing per role */
  missingKeys?: Record<string, number>;
}

type Series = (number | null)[];
type Decoded = { kind: 'series'; v: Series } | { kind: 'hist'; v: (Series | null)[] } | { kind: 'rows'; v: Record<string, number> };

/** Decodes every released metric of the plan. `decrypted[outputId]` is the consumer's decryption. */
export function decodeResult(plan: Plan, decrypted: Record<string, Float64Array>, meta: EvaluationMeta, info: DecodeInfo): ResultDocument {
  const conds = new Map(plan.conditions.map((c) => [c.id, c]));
  const outConds = new Map(plan.outputs.map((o) => [o.id, o.conditions]));
  const memo = new Map<string, Decoded>();
  const suppressedOf = new Map<string, Set<number>>();

  /**
   * Groups a condition suppresses: the broker's (from the providers' counts) and, for aligned rows,
   * those whose decrypted joint count is below the threshold (`Condition.jointCount`: nobody knows
   * the joint count in plaintext, the broker's rule is only an upper-bound cut). Under Laplace noise that
   * joint count is itself a noisy count release (the exact one is never released: the broker refuses an exact
   * aligned job with minGroupSize > 1), so this cut is post-processing of an ε-DP value, not the protection.
   */
  const offMemo = new Map<string, number[]>();
  const offGroups = (cid: string): number[] => {
    const known = offMemo.get(cid);
    if (known) return known;
    const c: Condition | undefined = conds.get(cid);
    const off = new Set(meta.suppressedGroups[cid] ?? []);
    const jc = c?.jointCount;
    if (c && jc) {
      const vec = decrypted[jc.output];
      if (!vec) throw new Error(`decrypted output ${jc.output} (joint counts) is missing`);
      jc.slots.forEach((slot, g) => {
        if (Math.round(vec[slot] * jc.factor) < c.minGroupSize) off.add(g);
      });
    }
    const list = [...off].sort((a, b) => a - b);
    offMemo.set(cid, list);
    return list;
  };
  const nulled = (output: string, metric: string): Set<number> => {
    const out = new Set<number>();
    for (const cid of outConds.get(output) ?? []) {
      const c = conds.get(cid);
      for (const g of offGroups(cid)) {
        out.add(g);
        if (c?.kind === 'minGroupSize') {
          const s = suppressedOf.get(metric) ?? new Set<number>();
          s.add(anyGroup.has(output) ? 0 : g);
          suppressedOf.set(metric, s);
        }
      }
    }
    return out;
  };
  const anyGroup = new Set(plan.outputs.filter((o) => o.anyGroup).map((o) => o.id));
  const read = (r: Read, metric: string): Series => {
    const off = nulled(r.output, metric);
    if (anyGroup.has(r.output) && off.size > 0) return r.slots.map(() => null);
    const vec = decrypted[r.output];
    if (!vec) throw new Error(`decrypted output ${r.output} is missing`);
    return r.slots.map((slot, g) => (off.has(g) ? null : vec[slot] * r.factor));
  };
  // a blinded read (quotient operand) is n·r with a secret r >= 1: never rounded; below 1/2 it is an empty group
  const counts = (r: Read, metric: string): Series => read(r, metric).map((x) => (x === null ? null : r.blinded ? x : Math.round(x)));
  const isZero = (x: number, blinded: boolean | undefined): boolean => (blinded ? Math.abs(x) < 0.5 : x === 0);

  const decodeMetric = (name: string): Decoded => {
    const known = memo.get(name);
    if (known) return known;
    const d: MetricDecoding | undefined = plan.decoding.metrics[name];
    if (!d) throw new Error(`the plan has no decoding for metric ${name}`);
    let out: Decoded;
    switch (d.kind) {
      case 'value': {
        const v = d.round ? counts(d.read, name) : read(d.read, name);
        out = { kind: 'series', v };
        break;
      }
      case 'quotient': {
        const num = read(d.num, name);
        const den = counts(d.den, name);
        out = {
          kind: 'series',
          v: num.map((x, g) => (x === null || den[g] === null || isZero(den[g] as number, d.den.blinded) ? null : x / (den[g] as number))),
        };
        break;
      }
      case 'moments': {
        const m1 = read(d.m1, name);
        const m2 = read(d.m2, name);
        const n = d.count ? counts(d.count, name) : null;
        out = {
          kind: 'series',
          v: m1.map((a, g) => {
            const b = m2[g];
            if (a === null || b === null) return null;
            let e1 = a;
            let e2 = b;
            if (n) {
              const k = n[g];
              if (k === null || isZero(k, d.count?.blinded)) return null;
              e1 /= k;
              e2 /= k;
            }
            // E[x²] − E[x]², clamped: CKKS error can push a zero variance slightly negative
            const variance = Math.max(0, d.factor2 * (e2 - e1 * e1));
            return d.sqrt ? Math.sqrt(variance) : variance;
          }),
        };
        break;
      }
      case 'histogram': {
        const bins = d.bins.map((b) => counts(b, name));
        const G = bins[0]?.length ?? 0;
        out = { kind: 'hist', v: Array.from({ length: G }, (_, g) => (bins.some((b) => b[g] === null) ? null : bins.map((b) => b[g]))) };
        break;
      }
      case 'ratio': {
        const a = series(d.a);
        const b = series(d.b);
        const G = Math.max(a.length, b.length);
        const at = (s: Series, g: number): number | null => (s.length === 1 ? s[0] : s[g]);
        // denominator groups with no contributing rows: 0/0 is null (their decoded value is CKKS noise, not 0)
        const empty = new Set((d.emptyDen ?? []).flatMap(offGroups));
        out = {
          kind: 'series',
          v: Array.from({ length: G }, (_, g) => {
            const x = at(a, g);
            const y = at(b, g);
            return x === null || y === null || isZero(y, d.blinded && countLike(d.b)) || empty.has(b.length === 1 ? 0 : g) ? null : x / y;
          }),
        };
        for (const src of [d.a, d.b])
          for (const g of suppressedOf.get(src) ?? []) {
            const s = suppressedOf.get(name) ?? new Set<number>();
            s.add(g);
            suppressedOf.set(name, s);
          }
        break;
      }
      case 'correlation': {
        const parts = [d.sa, d.sb, d.saa, d.sbb, d.sab].map((r) => read(r, name)[0]);
        if (parts.some((x) => x === null)) {
          out = { kind: 'series', v: [null] };
          break;
        }
        const [sa, sb, saa, sbb, sab] = parts as number[];
        const n = d.n;
        const vx = n * saa - sa * sa;
        const vy = n * sbb - sb * sb;
        // a constant series (zero variance up to CKKS error, ~1e-9 relative to n·Σa² or absolute) has no correlation
        const tiny = 1e-8 * n * (Math.abs(saa) + Math.abs(sbb)) + 1e-9 * n * n;
        out = {
          kind: 'series',
          v: [n >= 2 && vx > tiny && vy > tiny ? Math.max(-1, Math.min(1, (n * sab - sa * sb) / Math.sqrt(vx * vy))) : null],
        };
        break;
      }
      case 'rows': {
        const keys = plan.align?.keys ?? [];
        const v: Record<string, number> = {};
        keys.forEach((k, i) => {
          const id = `${d.outputs[0]}#${Math.floor(i / plan.slots)}`;
          const vec = decrypted[id];
          if (!vec) throw new Error(`decrypted output ${id} is missing`);
          v[k] = vec[i % plan.slots] * d.factor;
        });
        out = { kind: 'rows', v };
        break;
      }
    }
    memo.set(name, out);
    return out;
  };
  /** a blinded ratio's denominator that counts rows (n·r >= 1 unless the group is empty) */
  const countLike = (name: string): boolean => {
    const d = plan.decoding.metrics[name];
    return d?.kind === 'value' && d.round;
  };
  const series = (name: string): Series => {
    const d = decodeMetric(name);
    if (d.kind !== 'series') throw new Error(`metric ${name} is not a value per group`);
    return d.v;
  };

  const metrics: Record<string, MetricValue> = {};
  const suppressed: Record<string, string[]> = {};
  for (const name of plan.decoding.released) {
    const d = decodeMetric(name);
    const keys = plan.decoding.groups[name] ?? null;
    if (d.kind === 'rows') {
      metrics[name] = d.v;
      continue;
    }
    if (keys === null) metrics[name] = d.v[0] ?? null;
    else {
      const obj: Record<string, number | null | (number | null)[]> = {};
      keys.forEach((k, g) => {
        obj[k] = d.v[g] ?? null;
      });
      metrics[name] = obj;
    }
    const off = suppressedOf.get(name);
    if (off && off.size) suppressed[name] = [...off].sort((a, b) => a - b).map((g) => (keys ? keys[g] : '*'));
  }
  return {
    scenario: plan.scenario,
    version: info.version,
    job: info.job,
    metrics,
    meta: {
      rows: info.rows ?? {},
      suppressed,
      epsilonSpent: meta.epsilonSpent,
      scheme: plan.params.scheme,
      polyModulusDegree: plan.params.polyModulusDegree,
      ...(info.missingKeys ? { missingKeys: info.missingKeys } : {}),
    },
  };
}
