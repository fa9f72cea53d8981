import { batchLength, pointAt } from './batch.js';
import type { PointBatch } from './batch.js';

/** The broker's answer: the intersection size and, per party, positions into the batch it sent. */
export interface IntersectionResult {
  size: number;
  /** positions[i][r]: where the r-th shared element sits in party i's blinded batch. Same r = same id. */
  positions: number[][];
}

/** Bytes as a Map key; latin1 maps each byte to one UTF-16 unit, so equal keys = equal bytes. */
function key(p: Uint8Array): string {
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('latin1');
}

/**
 * Broker side, last step: intersects the fully blinded sets (H(x)^{a_1...a_k}, one batch per
 * party, each in the order its owner sent it) and orders the intersection by the blinded bytes,
 * an order every party can be told without anyone learning an id. Sees only blinded values.
 */
export function intersect(fullyBlinded: readonly PointBatch[]): IntersectionResult {
  if (!Array.isArray(fullyBlinded) || fullyBlinded.length < 2) throw new RangeError('intersect needs the sets of at least 2 parties');
  const maps = fullyBlinded.map((batch, i) => {
    const n = batchLength(batch, `set ${i}`);
    const m = new Map<string, number>();
    for (let j = 0; j < n; j++) {
      const k = key(pointAt(batch, j));
      if (m.has(k)) throw new RangeError(`set ${i} holds the same blinded value twice (positions ${m.get(k)} and ${j})`);
      m.set(k, j);
    }
    return m;
  });
  const smallest = maps.reduce((a, b) => (b.size < a.size ? b : a));
  const shared = [...smallest.keys()].filter((k) => maps.every((m) => m.has(k)));
  // Byte order of the canonical encodings (latin1 keys compare code unit by code unit = byte by byte).
  shared.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { size: shared.length, positions: maps.map((m) => shared.map((k) => m.get(k) as number)) };
}

/** A set's trip: which party must reblind it next (its owner sent it blinded once). */
export interface ReblindTask {
  /** Index of the party that owns the set. */
  set: number;
  /** Number of keys applied so far (1 = only the owner's). */
  keys: number;
  points: PointBatch;
}

/**
 * Broker-side routing for k parties: set i visits parties i+1, i+2, ..., i+k-1 (mod k), one
 * reblinding each, so after k-1 hops it carries every key. Rounds run in parallel: in round r
 * party j reblinds set j-r. Holds only blinded batches; persist them between steps as bytes.
 */
export class PsiRouter {
  readonly #sets: ({ points: PointBatch; keys: number; count: number } | null)[];

  constructor(readonly parties: number) {
    if (!Number.isSafeInteger(parties) || parties < 2) throw new RangeError(`parties must be an integer >= 2, got ${parties}`);
    this.#sets = Array.from({ length: parties }, () => null);
  }

  #check(party: number): void {
    if (!Number.isSafeInteger(party) || party < 0 || party >= this.parties)
      throw new RangeError(`party must be 0..${this.parties - 1}, got ${party}`);
  }

  /** Party `party` sent its own blinded set. */
  receiveBlinded(party: number, points: PointBatch): void {
    this.#check(party);
    if (this.#sets[party] !== null) throw new Error(`party ${party} already sent its set`);
    this.#sets[party] = { points, keys: 1, count: batchLength(points, 'points') };
  }

  /** The party that must apply the next key to set `set`, or null when it is fully blinded. */
  nextHolder(set: number): number | null {
    this.#check(set);
    const s = this.#sets[set];
    if (!s || s.keys === this.parties) return null;
    return (set + s.keys) % this.parties;
  }

  /** The sets waiting for `party` to reblind them. */
  tasksFor(party: number): ReblindTask[] {
    this.#check(party);
    const out: ReblindTask[] = [];
    this.#sets.forEach((s, i) => {
      if (s && this.nextHolder(i) === party) out.push({ set: i, keys: s.keys, points: s.points });
    });
    return out;
  }

  /** Party `party` returns set `set` reblinded with its key. */
  receiveReblinded(party: number, set: number, points: PointBatch): void {
    this.#check(party);
    const s = this.#sets[set];
    if (!s || this.nextHolder(set) !== party) throw new Error(`set ${set} is not waiting for party ${party}`);
    const n = batchLength(points, 'points');
    if (n !== s.count) throw new RangeError(`set ${set} had ${s.count} points, party ${party} returned ${n}`);
    this.#sets[set] = { points, keys: s.keys + 1, count: n };
  }

  get complete(): boolean {
    return this.#sets.every((s) => s !== null && s.keys === this.parties);
  }

  /** The intersection, once every set carries every key. */
  result(): IntersectionResult {
    if (!this.complete) throw new Error('not every set is fully blinded yet');
    return intersect(this.#sets.map((s) => (s as { points: PointBatch }).points));
  }
}
