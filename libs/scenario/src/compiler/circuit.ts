/**
 * The broker's side: evaluates a plan's circuit on ciphertexts and applies the release controls
 * (small-group suppression in the masks, Laplace noise). Never sees a plaintext row or a secret key.
 */
import type { CircuitNode, Condition, Plan, PlainVec, Read } from './plan-types.js';
import { BLIND_BITS, LAPLACE_TAIL } from './magnitude.js';
import { type RandomSource, cryptoRandom, gridLaplace } from './sampler.js';
import { decodingReads } from './reads.js';
import { combinedCounts, exactSuppressed, noisySuppressed, selectionCharge, selectionKey } from './selection.js';

/**
 * The operations the circuit needs; `#he-core`'s `HeEngine` provides them (structural typing keeps
 * this module free of node-seal). Plaintext vectors are `slots` long.
 */
export interface CircuitEngine<Ct, Pk> {
  readonly slots: number;
  add(a: Ct, b: Ct): Ct;
  sub(a: Ct, b: Ct): Ct;
  addPlain(ct: Ct, values: Float64Array): Ct;
  multiplyPlain(ct: Ct, values: Float64Array): Ct;
  multiply(a: Ct, b: Ct, pk: Pk): Ct;
  sumSlots(ct: Ct, width: number, pk: Pk): Ct;
  /** x + conj(x) + Enc(fill(chunk)) per chunk, at x's level and scale (`#he-core` `HeEngine.releaseFill`) */
  releaseFill(ct: Ct, pk: Pk, fill: (chunk: number) => Float64Array): Ct;
  free(ct: Ct): void;
}

export interface EvaluationExtra<Ct> {
  /** consumer-encrypted private parameters, by `plan.privateInputs[].name` */
  privateParams?: Record<string, Ct>;
  /** each role's `groupCounts` from `encodeRole` (needed when the plan has conditions) */
  groupCounts?: Record<string, Record<string, number[]>>;
  /**
   * randomness for Laplace noise, the noisy small-group selection and the release hygiene's fill (default: the operating system's CSPRNG;
   * `seededRandom` only in tests)
   */
  random?: RandomSource;
}

export interface EvaluationMeta {
  /** per condition id, the group indices zeroed by it */
  suppressedGroups: Record<string, number[]>;
  epsilonSpent: number;
  /**
   * Under noise with `minGroupSize`: the (ε, δ) of the noisy small-group selections (ε included in
   * `epsilonSpent`); `suppressedGroups` is then their DP output. Absent: suppression by exact counts.
   */
  selection?: { epsilon: number; delta: number };
}

export interface EvaluationResult<Ct> {
  /** output id → ciphertext; a row-level output of several chunks gives `id#0`, `id#1`, … */
  outputs: Record<string, Ct>;
  meta: EvaluationMeta;
}

/**
 * Sums a list of ciphertexts (the "partial sums" of a feature's chunks; any split over workers
 * gives the same total). Returns a new ciphertext, except for a list of one, returned as is.
 */
export function reduceChunks<Ct, Pk>(engine: CircuitEngine<Ct, Pk>, chunks: readonly Ct[]): Ct {
  if (chunks.length === 0) throw new Error('reduceChunks needs at least one ciphertext');
  let acc = chunks[0];
  for (let i = 1; i < chunks.length; i++) {
    const next = engine.add(acc, chunks[i]);
    if (i > 1) engine.free(acc);
    acc = next;
  }
  return acc;
}

/** Features a worker may pre-reduce with `reduceChunks` (consumed only by a `reduce`). */
export function reducibleFeatures(plan: Plan): { role: string; feature: string }[] {
  const users = new Map<string, CircuitNode[]>();
  for (const n of plan.circuit.nodes) for (const a of argsOf(n)) users.set(a, [...(users.get(a) ?? []), n]);
  return plan.circuit.nodes.flatMap((n) =>
    n.op === 'input' && (users.get(n.id) ?? []).every((u) => u.op === 'reduce') ? [{ role: n.role, feature: n.feature }] : [],
  );
}

function argsOf(n: CircuitNode): string[] {
  switch (n.op) {
    case 'input':
    case 'private':
      return [];
    case 'add':
      return n.args;
    case 'sub':
    case 'mul':
      return [n.a, n.b];
    default:
      return [n.a];
  }
}

/**
 * Group indices a condition suppresses, from the providers' reported counts: the exact rule, or with
 * `c.selection` (plans under noise) the noisy-threshold selection drawn from `random` (selection.ts).
 */
export function suppressedGroups(
  c: Condition,
  counts: Record<string, Record<string, number[]>>,
  random: RandomSource = cryptoRandom(),
): number[] {
  const combined = combinedCounts(c, counts);
  return c.selection ? noisySuppressed(c.minGroupSize, c.selection, combined, random) : exactSuppressed(c.minGroupSize, combined);
}

/** Every condition's suppressed groups; conditions on the same counts share one noisy decision. */
function suppressedByCondition(
  plan: Plan,
  counts: Record<string, Record<string, number[]>>,
  random: RandomSource,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const shared = new Map<string, number[]>();
  for (const c of plan.conditions) {
    if (!c.selection) {
      out[c.id] = suppressedGroups(c, counts, random);
      continue;
    }
    const key = selectionKey(c);
    let groups = shared.get(key);
    if (!groups) shared.set(key, (groups = suppressedGroups(c, counts, random)));
    out[c.id] = [...groups];
  }
  return out;
}

/**
 * Release hygiene (compiler README, "Release hygiene"). Every output the consumer can fetch becomes
 * x + conj(x) + Enc(fill): the conjugation cancels the imaginary parts, and `fill` is
 * - at every slot the consumer does not read (partial sums, masked-off slots, suppressed groups, empty
 *   chunks): uniform in [-FILL_RANGE, FILL_RANGE] (2^BLIND_BITS times that for a blinded output). What the circuit leaves there is at most
 *   2·SLOT_CAP·2^-35 (the mask's encoding error, ~2.4e-11 per slot, times a partial sum) plus its own
 *   noise, so a slot's statistical distance from data-independent is below 2^-FILL_MARGIN_BITS;
 * - at every slot it reads: flooding noise, uniform in [-w, w] — a quarter of a count for a rounded value
 *   (rounding removes it), half a noise grid step for a noisy value (which makes the discrete noise
 *   continuous: ε grows by at most 2^-GRID_BITS), and FLOOD_OF_TOLERANCE of the format's absolute
 *   accuracy (1e-6) for any other real value.
 */
export const FILL_RANGE = 2 ** 22;
/** log2(FILL_RANGE / (2·2^24·2^-35)): the statistical margin of the fill at one unread slot. */
export const FILL_MARGIN_BITS = 32;
/** Flooding at a read real value, as a share of the accuracy table's absolute tolerance 1e-6. */
export const FLOOD_OF_TOLERANCE = 1 / 16;

/** Per output id: the slots the consumer reads, with the half-width of the flooding noise there (slot units). */
export function releasedSlots(plan: Plan): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  const byNode = new Map(plan.circuit.nodes.map((n) => [n.id, n]));
  const nodeOf = new Map(plan.outputs.map((o) => [o.id, byNode.get(o.node)]));
  const add = (r: Read, round: boolean): void => {
    const n = nodeOf.get(r.output);
    const f = Math.abs(r.factor);
    // under noise: half a grid step (doubled, like every output value); rounded: a quarter count
    // (a blinded count is never rounded: it gets the small flooding of a real value)
    const w = n?.op === 'noise' && n.grid !== undefined ? n.grid : round && !r.blinded ? 0.25 / f : (FLOOD_OF_TOLERANCE * 1e-6) / f;
    const m = out.get(r.output) ?? new Map<number, number>();
    for (const s of r.slots) m.set(s, Math.min(m.get(s) ?? Infinity, w));
    out.set(r.output, m);
  };
  for (const d of Object.values(plan.decoding.metrics)) {
    for (const { read, round } of decodingReads(d)) add(read, round);
    if (d.kind === 'rows') {
      const keys = plan.align?.keys?.length ?? 0;
      const w = (FLOOD_OF_TOLERANCE * 1e-6) / Math.abs(d.factor);
      for (let c = 0; c * plan.slots < keys; c++) {
        const m = new Map<number, number>();
        for (let s = 0; s < plan.slots && c * plan.slots + s < keys; s++) m.set(s, w);
        out.set(`${d.outputs[0]}#${c}`, m);
      }
    }
  }
  for (const c of plan.conditions) if (c.jointCount) add(c.jointCount, true);
  return out;
}

/** Uniform in [-w, w]. */
function uniformIn(r: RandomSource, w: number): number {
  return (2 * r.uniform() - 1) * w;
}

/** The reads of one output (rows outputs have no per-group reads). */
function readsOf(plan: Plan, output: string): Read[] {
  const out: Read[] = [];
  const take = (r: Read): void => {
    if (r.output === output) out.push(r);
  };
  for (const d of Object.values(plan.decoding.metrics)) for (const { read } of decodingReads(d)) take(read);
  for (const c of plan.conditions) if (c.jointCount) take(c.jointCount);
  return out;
}

type Val<Ct> = Ct | Ct[];

/**
 * Runs the plan's circuit. `inputs[role][featureId]` holds the feature's chunks as uploaded (or
 * pre-reduced, see `reducibleFeatures`). Inputs and private parameters stay owned by the caller;
 * returned outputs are owned by the caller (free them); intermediates are freed here.
 */
export function evaluateCircuit<Ct, Pk>(
  engine: CircuitEngine<Ct, Pk>,
  pk: Pk,
  plan: Plan,
  inputs: Record<string, Record<string, Ct[]>>,
  extra: EvaluationExtra<Ct> = {},
): EvaluationResult<Ct> {
  if (engine.slots !== plan.slots) throw new Error(`engine has ${engine.slots} slots, the plan needs ${plan.slots}`);
  const slots = plan.slots;
  const random = extra.random ?? cryptoRandom();
  const suppressed = suppressedByCondition(plan, extra.groupCounts ?? {}, random);
  const keyCount = plan.align?.keys?.length ?? 0;

  const nodes = plan.circuit.nodes;
  const lastUse = new Map<string, number>();
  nodes.forEach((n, i) => argsOf(n).forEach((a) => lastUse.set(a, i)));
  const outputNodes = new Set(plan.outputs.map((o) => o.node));
  const values = new Map<string, Val<Ct>>();
  const owned = new Set<Ct>();
  const make = (ct: Ct): Ct => (owned.add(ct), ct);
  const get = (id: string): Val<Ct> => {
    const v = values.get(id);
    if (v === undefined) throw new Error(`internal: node ${id} has no value`);
    return v;
  };
  const asList = (v: Val<Ct>): Ct[] => (Array.isArray(v) ? v : [v]);
  const one = (v: Val<Ct>, id: string): Ct => {
    if (Array.isArray(v)) {
      if (v.length !== 1) throw new Error(`node ${id} expected one ciphertext, got ${v.length}`);
      return v[0];
    }
    return v;
  };
  /** chunk-wise binary op; a single ciphertext broadcasts over a chunk list */
  const zip = (a: Val<Ct>, b: Val<Ct>, f: (x: Ct, y: Ct) => Ct): Val<Ct> => {
    if (!Array.isArray(a) && !Array.isArray(b)) return make(f(a, b));
    const la = asList(a);
    const lb = asList(b);
    const n = Math.max(la.length, lb.length);
    if ((Array.isArray(a) && la.length !== n) || (Array.isArray(b) && lb.length !== n)) {
      throw new Error(`aligned inputs have different chunk counts (${la.length} vs ${lb.length})`);
    }
    return Array.from({ length: n }, (_, i) => make(f(Array.isArray(a) ? la[i] : la[0], Array.isArray(b) ? lb[i] : lb[0])));
  };
  const map = (a: Val<Ct>, f: (x: Ct, chunk: number) => Ct): Val<Ct> => (Array.isArray(a) ? a.map((x, i) => make(f(x, i))) : make(f(a, 0)));
  const plainOf = (p: PlainVec, chunk: number): Float64Array => {
    const v = new Float64Array(slots);
    if (p.kind === 'const') v.fill(p.value);
    else for (let s = 0; s < slots && chunk * slots + s < keyCount; s++) v[s] = p.value;
    return v;
  };

  // blinding factors of quotient operands, per blinding id and group: drawn here, never stored or returned
  const blinds = new Map<string, Map<number, number>>();
  const blindOf = (id: string, group: number): number => {
    const m = blinds.get(id) ?? new Map<number, number>();
    blinds.set(id, m);
    let r = m.get(group);
    if (r === undefined) m.set(group, (r = 2 ** (BLIND_BITS * random.uniform())));
    return r;
  };

  let epsilonSpent = 0;
  try {
    nodes.forEach((n, i) => {
      let v: Val<Ct>;
      switch (n.op) {
        case 'input': {
          const list = inputs[n.role]?.[n.feature];
          if (!list || list.length === 0) throw new Error(`missing input ${n.role}/${n.feature}`);
          v = list;
          break;
        }
        case 'private': {
          const ct = extra.privateParams?.[n.name];
          if (ct === undefined) throw new Error(`missing private parameter ${n.name}`);
          v = ct;
          break;
        }
        case 'reduce': {
          const list = asList(get(n.a));
          const r = reduceChunks(engine, list);
          v = list.length === 1 ? r : make(r);
          break;
        }
        case 'add':
          v = n.args.slice(1).reduce<Val<Ct>>((acc, a) => zip(acc, get(a), (x, y) => engine.add(x, y)), get(n.args[0]));
          break;
        case 'sub':
          v = zip(get(n.a), get(n.b), (x, y) => engine.sub(x, y));
          break;
        case 'mul':
          v = zip(get(n.a), get(n.b), (x, y) => engine.multiply(x, y, pk));
          break;
        case 'mulPlain': {
          const p = n.plain;
          v = map(get(n.a), (x, c) => engine.multiplyPlain(x, plainOf(p, c)));
          break;
        }
        case 'addPlain': {
          const p = n.plain;
          v = map(get(n.a), (x, c) => engine.addPlain(x, plainOf(p, c)));
          break;
        }
        case 'sumSlots': {
          const w = n.width;
          v = map(get(n.a), (x) => engine.sumSlots(x, w, pk));
          break;
        }
        case 'mask': {
          const vec = new Float64Array(slots);
          const off = new Set(n.conditions.flatMap((c) => suppressed[c] ?? []));
          for (const e of n.entries) if (!off.has(e.group)) vec[e.slot] = e.scale * (n.blind ? blindOf(n.blind, e.group) : 1);
          v = make(engine.multiplyPlain(one(get(n.a), n.id), vec));
          break;
        }
        case 'noise': {
          const vec = new Float64Array(slots);
          const grid = n.grid ?? n.scale * 2 ** -20;
          // slot i of the list is group i's leader; a blinded value's noise is blinded with it
          n.slots.forEach((s, g) => {
            vec[s] = gridLaplace(random, n.scale, grid, LAPLACE_TAIL) * (n.blind ? blindOf(n.blind, g) : 1);
          });
          v = make(engine.addPlain(one(get(n.a), n.id), vec));
          break;
        }
      }
      values.set(n.id, v);
      // free intermediates at their last use (SEAL objects live in WASM memory, not the GC heap)
      const live = new Set(asList(v));
      for (const a of new Set(argsOf(n))) {
        if (lastUse.get(a) === i && !outputNodes.has(a)) {
          // a length-1 reduce passes its argument through: never free what the new value holds
          for (const ct of asList(get(a)))
            if (owned.has(ct) && !live.has(ct)) {
              engine.free(ct);
              owned.delete(ct);
            }
          values.delete(a);
        }
      }
    });
  } catch (e) {
    for (const ct of owned) engine.free(ct);
    throw e;
  }
  const outputs: Record<string, Ct> = {};
  const kept = new Set<Ct>();
  const reads = releasedSlots(plan);
  try {
    for (const o of plan.outputs) {
      // a total over groups with a suppressed group is withheld whole (decodes as null)
      if (o.anyGroup && o.conditions.some((c) => (suppressed[c] ?? []).length > 0)) continue;
      const v = get(o.node);
      // groups the consumer's decoding nulls (suppressed) are filled like unread slots
      const off = new Set(o.conditions.flatMap((c) => suppressed[c] ?? []));
      // a blinded output's values (and what its masks leave) are up to 2^BLIND_BITS larger: so is its fill
      const top = nodes.find((x) => x.id === o.node);
      const masked = top?.op === 'noise' ? nodes.find((x) => x.id === top.a) : top;
      const blindId = masked?.op === 'mask' ? masked.blind : undefined;
      const fillRange = FILL_RANGE * (blindId ? 2 ** BLIND_BITS : 1);
      const hygienic = (ct: Ct, id: string): Ct => {
        const read = reads.get(id);
        const groupOf = new Map<number, number>();
        for (const d of readsOf(plan, id)) d.slots.forEach((s, g) => groupOf.set(s, g));
        const fill = (): Float64Array => {
          const vec = new Float64Array(slots);
          for (let s = 0; s < slots; s++) {
            const w = read?.get(s);
            const g = groupOf.get(s);
            // a blinded value's flooding is blinded with it (it must still cover one step of its noise grid)
            const r = blindId !== undefined && g !== undefined ? blindOf(blindId, g) : 1;
            vec[s] = w === undefined || (g !== undefined && off.has(g)) ? uniformIn(random, fillRange) : uniformIn(random, w * r);
          }
          return vec;
        };
        const x = make(engine.releaseFill(ct, pk, fill));
        kept.add(x);
        return x;
      };
      if (Array.isArray(v))
        v.forEach((ct, c) => {
          outputs[`${o.id}#${c}`] = hygienic(ct, `${o.id}#${c}`);
        });
      else outputs[o.id] = hygienic(v, o.id);
    }
  } catch (e) {
    for (const ct of owned) engine.free(ct);
    throw e;
  }
  for (const ct of owned) if (!kept.has(ct)) engine.free(ct);
  const selection = selectionCharge(plan.conditions);
  if (plan.circuit.nodes.some((n) => n.op === 'noise') || selection.epsilon > 0) epsilonSpent = plan.epsilon;
  return {
    outputs,
    meta: { suppressedGroups: suppressed, epsilonSpent, ...(selection.epsilon > 0 ? { selection } : {}) },
  };
}
