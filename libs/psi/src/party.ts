import { randomInt } from 'node:crypto';
import { batchLength, pointAt } from './batch.js';
import type { PointBatch } from './batch.js';
import { ristretto255Suite } from './ristretto.js';
import { POINT_BYTES, SUITES, domainSeparationTag } from './suite.js';
import type { Blinder, PsiSuite, SuiteName } from './suite.js';
import { x25519Suite } from './x25519.js';

export function psiSuite(name: SuiteName): PsiSuite {
  if (name === 'x25519') return x25519Suite;
  if (name === 'ristretto255') return ristretto255Suite;
  throw new TypeError(`suite must be one of ${SUITES.join(', ')}, got ${String(name)}`);
}

export interface PsiPartyOptions {
  /** All parties of a session must use the same suite (default `ristretto255`, see ristretto.ts for why). */
  suite?: SuiteName;
}

/**
 * One provider's side of the ECDH-PSI (multi-party, through a broker that routes messages).
 *
 * Party i holds a secret exponent a_i. It sends H(x)^{a_i} for its ids x (in a random order), and
 * raises every other party's set, as routed to it, to a_i. Exponentiation commutes, so every
 * set ends as H(x)^{a_1 ... a_k}; equal ids give equal bytes and the broker intersects without
 * learning any id (DDH in ristretto255, H a random oracle). Honest-but-curious, non-colluding
 * parties and broker (libs/scenario/src/compiler/README.md, "What each party learns").
 *
 * The class holds state (key, own order) between steps; each step is a pure message in, message
 * out, so apps can move the messages over HTTP or queues.
 */
export class PsiParty {
  readonly #blinder: Blinder;
  readonly suite: SuiteName;
  #destroyed = false;
  /** ids in the order they were sent (a random permutation of the input). */
  #sent: string[] | null = null;

  constructor(
    readonly sessionId: string,
    options: PsiPartyOptions = {},
  ) {
    const suite = psiSuite(options.suite ?? 'ristretto255');
    this.suite = suite.name;
    this.#blinder = suite.createBlinder(domainSeparationTag(sessionId, suite));
  }

  #alive(): void {
    if (this.#destroyed) throw new Error('this PSI party was destroyed');
  }

  /**
   * Step 1: hash and blind this party's ids. The order is shuffled (Fisher-Yates with a CSPRNG)
   * so positions in the message say nothing about the caller's row order. Ids must be unique.
   * @param onProgress called with the number of ids done, every 1000 ids
   */
  blind(ids: readonly string[], onProgress?: (done: number) => void): PointBatch {
    this.#alive();
    if (this.#sent !== null) throw new Error('blind() may be called once per party and session');
    if (!Array.isArray(ids)) throw new TypeError('ids must be an array of strings');
    const seen = new Map<string, number>();
    ids.forEach((id, i) => {
      if (typeof id !== 'string' || id.length === 0) throw new TypeError(`ids[${i}] must be a non-empty string`);
      const prev = seen.get(id);
      // Positions only: an id may be sensitive and must not appear in an error.
      if (prev !== undefined) throw new RangeError(`ids[${i}] duplicates ids[${prev}]; ids must be unique`);
      seen.set(id, i);
    });
    const order = [...ids];
    for (let i = order.length - 1; i > 0; i--) {
      const j = randomInt(i + 1);
      const t = order[i] as string;
      order[i] = order[j] as string;
      order[j] = t;
    }
    const out = new Uint8Array(order.length * POINT_BYTES);
    for (let i = 0; i < order.length; i++) {
      out.set(this.#blinder.hashAndBlind(order[i] as string), i * POINT_BYTES);
      if (onProgress && (i + 1) % 1000 === 0) onProgress(i + 1);
    }
    this.#sent = order;
    return out;
  }

  /** Step 2 (k-1 times, for the other parties' sets): raise every point to this party's key, keeping the order. */
  reblind(points: PointBatch, onProgress?: (done: number) => void): PointBatch {
    this.#alive();
    const n = batchLength(points, 'points');
    const out = new Uint8Array(n * POINT_BYTES);
    for (let i = 0; i < n; i++) {
      out.set(this.#blinder.reblind(pointAt(points, i), i), i * POINT_BYTES);
      if (onProgress && (i + 1) % 1000 === 0) onProgress(i + 1);
    }
    return out;
  }

  /**
   * Step 3: the broker's answer for this party (positions into the batch this party sent, in the
   * shared order) turned into this party's ids in that order. Every party gets the same order.
   */
  resolve(positions: readonly number[]): string[] {
    if (this.#sent === null) throw new Error('resolve() before blind()');
    const sent = this.#sent;
    if (!Array.isArray(positions)) throw new TypeError('positions must be an array of integers');
    const used = new Set<number>();
    return positions.map((p, r) => {
      if (!Number.isSafeInteger(p) || p < 0 || p >= sent.length)
        throw new RangeError(`positions[${r}] is not an index into the ${sent.length} points sent`);
      if (used.has(p)) throw new RangeError(`positions[${r}] repeats an index`);
      used.add(p);
      return sent[p] as string;
    });
  }

  /** Drops the key and the ids (ristretto255 overwrites its key bytes; an x25519 KeyObject cannot be zeroed from JS, this ends its reachability). */
  destroy(): void {
    this.#destroyed = true;
    this.#blinder.destroy();
    this.#sent = null;
  }
}
